"""Tests of the trainer image (refit_trainer): recipes, evaluation, drift, the Job contract."""
