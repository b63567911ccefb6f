"""Usage figures: try-ons per merchant per day and mode (what the quota counts)."""
