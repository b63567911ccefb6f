"""Products and their variants (sizes, colours), scoped by merchant."""
