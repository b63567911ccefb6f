"""Analytics in the gateway: event ingestion, server-side events, metrics API, dashboard.

The gateway only publishes events and reads metrics through ``analytics``'s public
interface (``analytics.pipeline``, ``analytics.metrics``); it never writes warehouse tables.
"""
