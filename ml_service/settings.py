"""ML service configuration: one settings class, read from ``TRYON_ML_*`` variables.

The defaults are the embedded mode: ONNX Runtime in-process on the CPU, models found in the
build cache under ``TRYON_CACHE_DIR`` (where ``tryon models build`` puts them).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Backend = Literal["onnxruntime", "triton"]
TritonProtocol = Literal["http", "grpc"]


class MLSettings(BaseSettings):
    """Everything the ML service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="TRYON_ML_", extra="ignore")

    backend: Backend = "onnxruntime"
    cache_dir: Path = Field(
        default=Path("~/.cache/tryon"),
        validation_alias=AliasChoices("TRYON_ML_CACHE_DIR", "TRYON_CACHE_DIR"),
        description="Root of the caches outside the clone (venvs, wheels, built models)",
    )
    models_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("TRYON_ML_MODELS_DIR", "TRYON_MODELS_DIR"),
        description="A built model directory; default: the cache entry for the current build",
    )

    threads: int = Field(default=1, ge=1, le=64, description="ONNX Runtime intra-op threads")
    spin_wait: bool = Field(
        default=False,
        description="Let ONNX Runtime's idle worker threads spin (threads > 1): lower latency "
        "on dedicated cores, but on shared ones the spinning takes CPU from other work",
    )
    providers: list[str] | None = Field(
        default=None,
        description="ONNX Runtime execution providers in order; default: the best available",
    )
    trt_cache_dir: Path | None = Field(
        default=None, description="TensorRT engine cache; default: <cache_dir>/trt"
    )

    triton_url: str = Field(default="127.0.0.1:8000", description="host:port of Triton")
    triton_protocol: TritonProtocol = "http"
    triton_timeout_s: float = Field(default=5.0, gt=0, le=120)
    triton_check_metadata: bool = True

    max_image_pixels: int = Field(default=24_000_000, ge=1)
    decode_min_side: int = Field(
        default=1080,
        ge=1,
        description="Photos analysed from encoded bytes (tryon analyze): a JPEG is decoded at "
        "1/2, 1/4 or 1/8 size while its shorter side stays at least this long",
    )
    max_faces: int = Field(default=4, ge=1, le=32)
    max_bodies: int = Field(default=2, ge=1, le=8)
    face_score_threshold: float = Field(default=0.5, gt=0, lt=1)
    full_range: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Photo mode: when to run the full-range face detector besides the "
        "short-range one (auto: unless the short-range one found a face at least "
        "full_range_skip_ratio of the frame's long side wide)",
    )
    full_range_skip_ratio: float = Field(default=0.1, ge=0, le=1)
    min_face_px: float = Field(
        default=24.0,
        ge=1,
        description="Photo mode: a detected face narrower than this (pixels) is reported as "
        "too small instead of measured",
    )
    face_presence_threshold: float = Field(default=0.5, gt=0, lt=1)
    pose_score_threshold: float = Field(default=0.5, gt=0, lt=1)
    pose_presence_threshold: float = Field(default=0.5, gt=0, lt=1)

    track_iris_every: int = Field(
        default=3,
        ge=1,
        le=30,
        description="Tracking: run the iris model at least every Nth frame (1: every frame); "
        "between runs iris centres follow the eye corners of the face mesh",
    )
    track_iris_change: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Tracking: run the iris model early when the eye contours moved, beyond a "
        "rigid motion, more than this (eye widths) or the eyes' width ratio changed by more",
    )
    track_redetect_s: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="Tracking: while fewer than max_faces are tracked, run the face detector "
        "this often (seconds of stream time) to pick up faces that enter",
    )

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir.expanduser()


@functools.cache
def get_settings() -> MLSettings:
    """The process-wide settings, read once."""
    return MLSettings()
