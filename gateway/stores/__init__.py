"""Stores: a merchant's installations on a commerce platform."""
