"""Analytics: event schema, publisher, consumer, warehouse and metrics."""
