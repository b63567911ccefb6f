"""Prepared try-on assets and brand model photos."""
