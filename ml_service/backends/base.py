"""The inference protocol every backend implements."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from ml_service.models.catalog import ModelSpec

Outputs = dict[str, NDArray[np.float32]]


class InferenceBackend(Protocol):
    """Runs a described model on a batch (N x H x W x C float32, N >= 1).

    Returns every output of the description by name, each with the batch as its first
    dimension. Batches larger than the model's ``max_batch_size`` are split by the backend.
    Implementations are safe to call from several threads at once.
    """

    name: str

    def infer(self, model: ModelSpec, batch: NDArray[np.float32]) -> Outputs: ...

    def close(self) -> None: ...


def check_batch(model: ModelSpec, batch: NDArray[np.float32]) -> None:
    """Reject a batch whose shape or dtype does not match the description (a bug, not input)."""
    if batch.dtype != np.float32 or batch.ndim != 4 or batch.shape[1:] != model.input.dims:
        raise ValueError(
            f"{model.name} expects N x {model.input.dims} float32, got {batch.shape} {batch.dtype}"
        )


def chunks(model: ModelSpec, batch: NDArray[np.float32]) -> list[NDArray[np.float32]]:
    size = model.max_batch_size
    return [batch[i : i + size] for i in range(0, len(batch), size)]
