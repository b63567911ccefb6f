"""Relational data: engine, sessions, the declarative base and migrations."""
