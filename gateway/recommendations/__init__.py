"""What to try next: recommendations for a product (widget and merchant API)."""
