"""Try-on sessions: a random id per widget try-on, the join key for analytics."""
