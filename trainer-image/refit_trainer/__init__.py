"""Refit trainer: recipes, evaluation and drift checks that run inside Jobs."""
