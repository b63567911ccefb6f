"""API keys: publishable (``pk_``, browsers) and secret (``sk_``, servers)."""
