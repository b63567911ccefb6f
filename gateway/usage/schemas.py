"""Response bodies for usage figures."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class UsageDay(BaseModel):
    date: date
    counts: dict[str, int] = Field(examples=[{"tryon_photo": 12, "tryon_live": 3}])


class QuotaOut(BaseModel):
    limit: int
    used: int
    remaining: int
    exhausted: bool


class UsageOut(BaseModel):
    month: str = Field(examples=["2026-11"])
    totals: dict[str, int] = Field(
        description="Counts per metric: tryon_photo, tryon_live, tryon_model, analyze, "
        "live_frames, asset_prepared",
        examples=[{"tryon_photo": 120, "tryon_live": 30, "live_frames": 9000}],
    )
    quota: QuotaOut
    days: list[UsageDay]
