"""The public API gateway: widget and merchant APIs, auth, limits, and the ``tryon`` CLI."""
