"""HTTP wiring shared by the routers: dependencies and health endpoints."""
