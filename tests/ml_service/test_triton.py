"""The Triton backend against a real tritonserver (PyTriton, started here on ephemeral ports).

It must return what ONNX Runtime returns, over HTTP and gRPC, check model metadata at start-up
and fail fast and clearly when the server is unreachable.
"""

from __future__ import annotations

import dataclasses
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest

from ml_service import ports
from ml_service.backends.onnxruntime import OnnxRuntimeBackend
from ml_service.backends.triton import TritonBackend
from ml_service.errors import BackendUnavailable, ModelMismatch
from ml_service.models import catalog, pytriton, store
from ml_service.perception import Perceiver
from ml_service.settings import MLSettings
from testkit.images import load_bgr

pytestmark = [pytest.mark.triton, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(
    ml_settings: MLSettings,
    built_models: store.BuiltModels,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[pytriton.TritonServer]:
    log_path = tmp_path_factory.mktemp("triton") / "tritonserver.log"
    try:
        with pytriton.serve(
            models_dir=built_models.root,
            cache_dir=ml_settings.resolved_cache_dir,
            log_path=log_path,
        ) as s:
            yield s
    except BaseException:
        print(f"--- tritonserver log ({log_path}) ---\n{pytriton.log_tail(log_path, 200)}")
        raise


@pytest.fixture(scope="module")
def onnxruntime(built_models: store.BuiltModels) -> OnnxRuntimeBackend:
    return OnnxRuntimeBackend({name: built_models.onnx_path(name) for name in catalog.MODELS})


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_triton_returns_what_onnxruntime_returns(
    server: pytriton.TritonServer, onnxruntime: OnnxRuntimeBackend, protocol: str
) -> None:
    url = server.http_url if protocol == "http" else server.grpc_url
    backend = TritonBackend(url, protocol=protocol)  # type: ignore[arg-type]
    worst = 0.0
    try:
        for spec in catalog.MODELS.values():
            batch = np.random.default_rng(2).uniform(*spec.value_range, (3, *spec.input.dims))
            batch = batch.astype(np.float32)
            served, local = backend.infer(spec, batch), onnxruntime.infer(spec, batch)
            assert set(served) == {o.name for o in spec.outputs}
            for name in served:
                assert served[name].shape == local[name].shape
                worst = max(worst, float(np.abs(served[name] - local[name]).max()))
    finally:
        backend.close()
    print(f"triton {protocol} vs onnxruntime: max abs difference {worst:.3g}")
    assert worst < 1e-4


def test_perception_over_triton_matches_in_process(
    server: pytriton.TritonServer, ml_settings: MLSettings, perceiver: Perceiver
) -> None:
    settings = ml_settings.model_copy(
        update={"backend": "triton", "triton_url": server.grpc_url, "triton_protocol": "grpc"}
    )
    image = load_bgr("astronaut")
    with Perceiver.from_settings(settings) as remote:
        served = remote.analyze(image)
    local = perceiver.analyze(image)
    assert len(served.faces) == len(local.faces) == 1
    assert np.abs(served.faces[0].landmarks - local.faces[0].landmarks).max() < 1e-2
    assert np.abs(served.bodies[0].landmarks - local.bodies[0].landmarks).max() < 1e-2


def test_several_crops_go_in_one_request_and_split_above_the_limit(
    server: pytriton.TritonServer, onnxruntime: OnnxRuntimeBackend
) -> None:
    spec = catalog.IRIS_LANDMARKS
    backend = TritonBackend(server.http_url, models=(spec,))
    batch = np.random.default_rng(4).uniform(0, 1, (spec.max_batch_size + 2, 64, 64, 3))
    out = backend.infer(spec, batch.astype(np.float32))
    backend.close()
    assert out["iris"].shape == (spec.max_batch_size + 2, 15)
    assert np.allclose(
        out["iris"], onnxruntime.infer(spec, batch.astype(np.float32))["iris"], atol=1e-4
    )


def test_metadata_mismatch_is_found_at_start_up(server: pytriton.TritonServer) -> None:
    wrong = dataclasses.replace(
        catalog.FACE_DETECTOR, input=catalog.TensorSpec("image", (192, 192, 3))
    )
    with pytest.raises(ModelMismatch, match="inputs"):
        TritonBackend(server.http_url, models=(wrong,))


def test_unknown_model_is_not_ready(server: pytriton.TritonServer) -> None:
    ghost = dataclasses.replace(catalog.FACE_DETECTOR, name="no_such_model")
    with pytest.raises(BackendUnavailable):
        TritonBackend(server.grpc_url, protocol="grpc", models=(ghost,))


def test_metrics_endpoint_exposes_inference_counters(server: pytriton.TritonServer) -> None:
    with urllib.request.urlopen(server.metrics_url, timeout=5) as response:
        text = response.read().decode()
    assert "nv_inference_request_success" in text


@pytest.mark.timeout(60)  # a hang fails here; how fast it fails is not a test's business
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_unreachable_server_fails_fast_and_clearly(protocol: str) -> None:
    with ports.refused_port() as port, pytest.raises(BackendUnavailable):
        TritonBackend(f"127.0.0.1:{port}", protocol=protocol, timeout_s=2.0)  # type: ignore[arg-type]
