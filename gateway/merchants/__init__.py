"""Merchants: the tenants that own stores, products and keys."""
