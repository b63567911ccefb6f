"""The broker probe for ``/readyz`` (only when RabbitMQ is configured)."""

from __future__ import annotations

from fastapi import FastAPI

from analytics.settings import AnalyticsSettings
from gateway.readiness import Probe


def broker_probe(app: FastAPI) -> Probe | None:
    """Ready while the publisher holds a confirmed channel to the broker."""
    settings: AnalyticsSettings = getattr(app.state, "analytics_settings", None) or (
        AnalyticsSettings()
    )
    if settings.is_embedded_transport:
        return None

    async def probe() -> None:
        pipeline = getattr(app.state, "analytics", None)
        if pipeline is None or not pipeline.broker_connected:
            raise ConnectionError("not connected to the broker")

    return probe
