"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.problems import problem
from gateway.readiness import run_probes

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: every dependency of the configured mode answers",
    responses={503: {"description": "A dependency is down (problem+json)"}},
)
async def readyz(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    results = await run_probes(request.app.state.probes, settings.readiness_timeout_s)
    checks: dict[str, Any] = {
        r.name: {
            "ok": r.ok,
            "duration_ms": r.duration_ms,
            **({"error": r.error} if r.error else {}),
        }
        for r in results
    }
    if all(r.ok for r in results):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(r.name for r in results if not r.ok)
    return problem(
        503,
        "not-ready",
        "Not ready",
        f"Unavailable: {failing}",
        headers={"Retry-After": "5"},
        checks=checks,
    )
