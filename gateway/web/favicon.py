"""The site icon, for every page the gateway serves (the demo store, the dashboard).

Browsers ask for ``/favicon.ico`` on their own when a page names no icon: both paths answer
the same small SVG, so no page logs a 404 for it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

ICON = Path(__file__).resolve().parent / "static" / "favicon.svg"


@router.get("/favicon.svg")
@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(
        ICON.read_bytes(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
