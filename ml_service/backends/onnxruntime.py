"""ONNX Runtime in-process: the embedded default (CPU), CUDA / TensorRT when present.

Sessions are created when the backend is constructed (never at import). ``InferenceSession.run``
is thread-safe, so one backend serves concurrent requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ml_service.backends.base import Outputs, check_batch, chunks
from ml_service.errors import BackendError, ModelUnavailable
from ml_service.models import catalog, store
from ml_service.models.catalog import ModelSpec
from ml_service.settings import MLSettings

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PREFERENCE = (TENSORRT, CUDA, CPU)


def select_providers(available: list[str], requested: list[str] | None = None) -> list[str]:
    """Execution providers to use, best first; CPU always last as the fallback.

    With ``requested`` (from settings) keep that order, restricted to what is available; an
    unknown or unavailable request raises, so a GPU deployment never silently runs on CPU.
    """
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise ModelUnavailable(
                f"execution providers {missing} are not available (have {available})"
            )
        chosen = list(requested)
    else:
        chosen = [p for p in PREFERENCE if p in available]
    if CPU not in chosen:
        chosen.append(CPU)
    return chosen


def provider_options(providers: list[str], *, trt_cache: Path) -> list[dict[str, str]]:
    """Per-provider options: TensorRT in FP16 with an engine cache (first run builds it)."""
    options: list[dict[str, str]] = []
    for provider in providers:
        if provider == TENSORRT:
            options.append(
                {
                    "trt_fp16_enable": "True",
                    "trt_engine_cache_enable": "True",
                    "trt_engine_cache_path": str(trt_cache),
                }
            )
        else:
            options.append({})
    return options


def model_form(providers: list[str]) -> store.Form:
    """The CPU form of the models when the CPU runs them all; the portable graph otherwise
    (a GPU provider takes the graph as converted; the CPU rewrites only help ONNX Runtime's
    own CPU kernels)."""
    return store.CPU_FORM if providers == [CPU] else store.PORTABLE


class OnnxRuntimeBackend:
    """One ONNX Runtime session per model."""

    name = "onnxruntime"

    def __init__(
        self,
        model_paths: dict[str, Path],
        *,
        threads: int = 1,
        providers: list[str] | None = None,
        trt_cache: Path | None = None,
        spin_wait: bool = False,
    ) -> None:
        import onnxruntime as ort  # noqa: PLC0415 - heavy; only when a backend is built

        chosen = select_providers(ort.get_available_providers(), providers)
        options = provider_options(chosen, trt_cache=trt_cache or Path("trt-cache"))
        self.providers = chosen
        self._sessions: dict[str, Any] = {}
        for name, path in model_paths.items():
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.log_severity_level = 3
            # Idle workers spin by default; on a shared CPU that steals time from everything
            # else (measured: the 2-thread sessions slowed the benchmark's other pipelines).
            so.add_session_config_entry(
                "session.intra_op.allow_spinning", "1" if spin_wait else "0"
            )
            try:
                self._sessions[name] = ort.InferenceSession(
                    str(path), sess_options=so, providers=chosen, provider_options=options
                )
            except Exception as exc:  # ORT raises its own untyped errors
                raise ModelUnavailable(f"cannot load {path}: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: MLSettings) -> OnnxRuntimeBackend:
        import onnxruntime as ort  # noqa: PLC0415

        built = store.load(store.models_dir(settings))
        form = model_form(select_providers(ort.get_available_providers(), settings.providers))
        return cls(
            {name: built.onnx_path(name, form=form) for name in catalog.MODELS},
            threads=settings.threads,
            providers=settings.providers,
            trt_cache=settings.trt_cache_dir or settings.resolved_cache_dir / "trt",
            spin_wait=settings.spin_wait,
        )

    def infer(self, model: ModelSpec, batch: NDArray[np.float32]) -> Outputs:
        check_batch(model, batch)
        session = self._sessions.get(model.name)
        if session is None:
            raise BackendError("model not loaded", model=model.name, backend=self.name)
        names = [out.name for out in model.outputs]
        parts: list[list[NDArray[np.float32]]] = []
        try:
            for chunk in chunks(model, batch):
                parts.append(session.run(names, {model.input.name: chunk}))
        except Exception as exc:
            raise BackendError(str(exc), model=model.name, backend=self.name) from exc
        return {
            name: np.concatenate([p[i] for p in parts]) if len(parts) > 1 else parts[0][i]
            for i, name in enumerate(names)
        }

    def close(self) -> None:
        self._sessions.clear()
