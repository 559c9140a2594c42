"""GPU benchmark: the recommender recipe's BPR training, samples per second, GPU use."""
