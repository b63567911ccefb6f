"""Inference backends: one protocol, ONNX Runtime in-process or a Triton server."""

from __future__ import annotations

from ml_service.backends.base import InferenceBackend
from ml_service.settings import MLSettings


def create_backend(settings: MLSettings) -> InferenceBackend:
    """The backend the settings ask for (models are loaded or checked here, not at import)."""
    if settings.backend == "triton":
        from ml_service.backends.triton import TritonBackend  # noqa: PLC0415

        return TritonBackend.from_settings(settings)
    from ml_service.backends.onnxruntime import OnnxRuntimeBackend  # noqa: PLC0415

    return OnnxRuntimeBackend.from_settings(settings)


__all__ = ["InferenceBackend", "create_backend"]
