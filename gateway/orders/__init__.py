"""Orders: a store's order recorded as a purchase event (``POST /v1/orders``)."""
