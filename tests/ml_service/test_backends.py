"""Backend protocol: provider selection, batching, shape checks, metadata comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml_service.backends.onnxruntime import (
    CPU,
    CUDA,
    TENSORRT,
    OnnxRuntimeBackend,
    model_form,
    provider_options,
    select_providers,
)
from ml_service.backends.triton import expected_metadata, metadata_problems
from ml_service.errors import ModelUnavailable
from ml_service.models import catalog, store


def test_cpu_only_machine_gets_cpu() -> None:
    assert select_providers([CPU]) == [CPU]


def test_gpu_build_prefers_tensorrt_then_cuda_then_cpu() -> None:
    available = ["AzureExecutionProvider", CPU, CUDA, TENSORRT]
    assert select_providers(available) == [TENSORRT, CUDA, CPU]
    assert select_providers([CPU, CUDA]) == [CUDA, CPU]


def test_requested_providers_keep_their_order_and_cpu_is_the_fallback() -> None:
    assert select_providers([CPU, CUDA, TENSORRT], [CUDA]) == [CUDA, CPU]


def test_the_cpu_form_of_the_models_is_used_only_when_the_cpu_runs_them_all() -> None:
    assert model_form([CPU]) == store.CPU_FORM
    assert model_form([CUDA, CPU]) == store.PORTABLE
    assert model_form([TENSORRT, CUDA, CPU]) == store.PORTABLE


def test_requesting_an_absent_provider_fails_loudly() -> None:
    with pytest.raises(ModelUnavailable, match="CUDAExecutionProvider"):
        select_providers([CPU], [CUDA])


def test_tensorrt_runs_fp16_with_an_engine_cache(tmp_path: Path) -> None:
    options = provider_options([TENSORRT, CUDA, CPU], trt_cache=tmp_path)
    assert options[0]["trt_fp16_enable"] == "True"
    assert options[0]["trt_engine_cache_path"] == str(tmp_path)
    assert options[1:] == [{}, {}]


def test_batches_above_the_model_limit_are_split(built_models: store.BuiltModels) -> None:
    spec = catalog.IRIS_LANDMARKS
    backend = OnnxRuntimeBackend({spec.name: built_models.onnx_path(spec.name)}, threads=2)
    batch = np.random.default_rng(0).uniform(0, 1, (spec.max_batch_size * 2 + 3, 64, 64, 3))
    out = backend.infer(spec, batch.astype(np.float32))
    assert out["iris"].shape == (spec.max_batch_size * 2 + 3, 15)
    single = backend.infer(spec, batch[-1:].astype(np.float32))
    assert np.allclose(single["iris"][0], out["iris"][-1], atol=1e-4)


def test_wrong_batch_shape_is_a_programming_error(built_models: store.BuiltModels) -> None:
    spec = catalog.IRIS_LANDMARKS
    backend = OnnxRuntimeBackend({spec.name: built_models.onnx_path(spec.name)})
    with pytest.raises(ValueError, match="expects"):
        backend.infer(spec, np.zeros((1, 32, 32, 3), np.float32))


def test_metadata_comparison_names_the_difference() -> None:
    spec = catalog.FACE_LANDMARKS
    good = {
        kind: [{"name": n, "datatype": d, "shape": s} for n, d, s in tensors]
        for kind, tensors in expected_metadata(spec).items()
    }
    assert metadata_problems(spec, good) == []
    bad = {**good, "inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 128, 128, 3]}]}
    assert "inputs" in metadata_problems(spec, bad)[0]
