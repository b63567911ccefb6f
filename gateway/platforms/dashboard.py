"""The dashboard's store connections panel: its data and script (kept out of the
dashboard's own module and page, which only hold a placeholder and a script tag)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from gateway.api.deps import SessionDep
from gateway.events.dashboard import DashboardMerchant
from gateway.platforms import installs
from gateway.platforms.schemas import store_out

router = APIRouter(prefix="/dashboard", include_in_schema=False)
SCRIPT = Path(__file__).parent / "static" / "stores.js"


@router.get("/api/stores")
def stores(merchant: DashboardMerchant, session: SessionDep) -> Response:
    rows = installs.list_stores(session=session, merchant_id=merchant.id)
    return JSONResponse(
        {"data": [store_out(s).model_dump(mode="json") for s in rows]},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/stores.js")
def script() -> Response:
    return Response(
        SCRIPT.read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
