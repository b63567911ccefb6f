"""Triton Inference Server over HTTP or gRPC (tritonclient), checked against the descriptions.

At construction the server must be live and every described model ready with the inputs,
outputs, datatypes and shapes of its description (``ModelMismatch`` otherwise), so a wrong
deployment fails at start-up rather than on a shopper's request. Each call has a timeout.
The gRPC client is thread-safe and shared; the HTTP client is not, so each thread gets its own.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ml_service.backends.base import Outputs, check_batch, chunks
from ml_service.errors import BackendError, BackendTimeout, BackendUnavailable, ModelMismatch
from ml_service.models import catalog
from ml_service.models.catalog import ModelSpec
from ml_service.settings import MLSettings, TritonProtocol


def expected_metadata(spec: ModelSpec) -> dict[str, list[tuple[str, str, list[int]]]]:
    """The model metadata Triton must report for ``spec`` (batch dimension as -1)."""
    return {
        "inputs": [(spec.input.name, spec.input.dtype, [-1, *spec.input.dims])],
        "outputs": sorted((o.name, o.dtype, [-1, *o.dims]) for o in spec.outputs),
    }


def metadata_problems(spec: ModelSpec, metadata: dict[str, Any]) -> list[str]:
    """Differences between served metadata (Triton's JSON form) and the description."""
    want = expected_metadata(spec)
    problems = []
    for kind in ("inputs", "outputs"):
        have = sorted(
            (t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in metadata.get(kind, [])
        )
        if have != sorted(want[kind]):
            problems.append(f"{kind}: served {have}, described {sorted(want[kind])}")
    return problems


class TritonBackend:
    """Inference on a Triton server; several crops go in one request."""

    name = "triton"

    def __init__(
        self,
        url: str,
        *,
        protocol: TritonProtocol = "http",
        timeout_s: float = 5.0,
        check_metadata: bool = True,
        models: tuple[ModelSpec, ...] = tuple(catalog.MODELS.values()),
    ) -> None:
        self.url = url
        self.protocol = protocol
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._grpc_client: Any = None
        self.check_ready(models, check_metadata=check_metadata)

    @classmethod
    def from_settings(cls, settings: MLSettings) -> TritonBackend:
        return cls(
            settings.triton_url,
            protocol=settings.triton_protocol,
            timeout_s=settings.triton_timeout_s,
            check_metadata=settings.triton_check_metadata,
        )

    def _client(self) -> Any:
        if self.protocol == "grpc":
            if self._grpc_client is None:
                import tritonclient.grpc as grpcclient  # noqa: PLC0415

                self._grpc_client = grpcclient.InferenceServerClient(self.url)
            return self._grpc_client
        client = getattr(self._local, "client", None)
        if client is None:
            import tritonclient.http as httpclient  # noqa: PLC0415

            client = httpclient.InferenceServerClient(
                self.url,
                connection_timeout=self.timeout_s,
                network_timeout=self.timeout_s,
            )
            self._local.client = client
        return client

    def _error(self, exc: Exception, model: str) -> BackendError:
        text = str(exc)
        if (
            isinstance(exc, socket.timeout | TimeoutError)
            or "Deadline" in text
            or "timed out" in text
        ):
            return BackendTimeout(
                f"no answer within {self.timeout_s} s", model=model, backend=self.name
            )
        lowered = text.lower()
        if "not found" in lowered or "unknown model" in lowered:
            return BackendUnavailable(f"not served: {text}", model=model, backend=self.name)
        if isinstance(exc, ConnectionError | OSError) or any(
            word in lowered for word in ("unavailable", "connect", "refused")
        ):
            return BackendUnavailable(
                f"cannot reach {self.url}: {text}", model=model, backend=self.name
            )
        return BackendError(text, model=model, backend=self.name)

    def check_ready(self, models: tuple[ModelSpec, ...], *, check_metadata: bool = True) -> None:
        """Server live, each model ready and, optionally, matching its description."""
        client = self._client()
        try:
            live = client.is_server_live()
        except Exception as exc:
            raise self._error(exc, "*") from exc
        if not live:
            raise BackendUnavailable(f"{self.url} is not live", model="*", backend=self.name)
        for spec in models:
            try:
                ready = client.is_model_ready(spec.name)
                metadata = (
                    client.get_model_metadata(spec.name, as_json=True)
                    if self.protocol == "grpc"
                    else client.get_model_metadata(spec.name)
                )
            except Exception as exc:
                raise self._error(exc, spec.name) from exc
            if not ready:
                raise BackendUnavailable("model not ready", model=spec.name, backend=self.name)
            problems = metadata_problems(spec, metadata) if check_metadata else []
            if problems:
                raise ModelMismatch("; ".join(problems), model=spec.name, backend=self.name)

    def infer(self, model: ModelSpec, batch: NDArray[np.float32]) -> Outputs:
        check_batch(model, batch)
        parts = [self._infer_chunk(model, chunk) for chunk in chunks(model, batch)]
        if len(parts) == 1:
            return parts[0]
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

    def _infer_chunk(self, model: ModelSpec, batch: NDArray[np.float32]) -> Outputs:
        if self.protocol == "grpc":
            import tritonclient.grpc as module  # noqa: PLC0415
        else:
            import tritonclient.http as module  # noqa: PLC0415
        tensor = module.InferInput(model.input.name, list(batch.shape), model.input.dtype)
        tensor.set_data_from_numpy(np.ascontiguousarray(batch))
        requested = [module.InferRequestedOutput(o.name) for o in model.outputs]
        try:
            if self.protocol == "grpc":
                result = self._client().infer(
                    model.name, [tensor], outputs=requested, client_timeout=self.timeout_s
                )
            else:
                result = self._client().infer(model.name, [tensor], outputs=requested)
        except Exception as exc:
            raise self._error(exc, model.name) from exc
        outputs: Outputs = {}
        for spec in model.outputs:
            array = result.as_numpy(spec.name)
            if array is None or array.shape != (len(batch), *spec.dims):
                shape = None if array is None else array.shape
                raise ModelMismatch(
                    f"output {spec.name} has shape {shape}", model=model.name, backend=self.name
                )
            outputs[spec.name] = np.asarray(array, dtype=np.float32)
        return outputs

    def close(self) -> None:
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None
        if self._grpc_client is not None:
            self._grpc_client.close()
            self._grpc_client = None
