"""Randomised holdout experiments: a merchant\x27s holdout share and its periods."""
