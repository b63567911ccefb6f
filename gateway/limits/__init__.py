"""Rate limits (per key, per IP) and the monthly try-on quota."""
