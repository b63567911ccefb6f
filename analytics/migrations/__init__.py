"""Alembic migrations of the analytics warehouse."""
