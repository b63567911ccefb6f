"""The model build: descriptions, checksummed store, Triton configs, batchable ONNX."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from ml_service.backends.onnxruntime import OnnxRuntimeBackend
from ml_service.errors import ModelUnavailable
from ml_service.models import catalog, store, triton_repo


def test_build_key_is_stable_and_content_addressed() -> None:
    assert store.build_key() == store.build_key()
    assert len(store.build_key()) == 20


def test_manifest_records_checksums_and_conversion_checks(built_models: store.BuiltModels) -> None:
    manifest = built_models.manifest
    assert manifest["key"] == store.build_key()
    assert manifest["mediapipe"] == "0.10.21"
    for name, entry in manifest["models"].items():
        assert entry["sha256"] == store.sha256_file(built_models.onnx_path(name))
        cpu = built_models.onnx_path(name, form=store.CPU_FORM)
        assert entry[store.CPU_FORM]["sha256"] == store.sha256_file(cpu)
        for prefix in ("", "cpu_"):
            assert entry["checks"][f"{prefix}batch_max_abs_diff"] < 1e-4
            assert entry["checks"][f"{prefix}tflite_max_rel_diff"] < 1e-3
    rewritten = {name: entry["checks"] for name, entry in manifest["models"].items()}
    # 53 PRelus, 16 of them in the eye-contour head that the build cuts (unused output).
    assert rewritten["iris_landmarks"]["cpu_prelu_rewritten"] == 37
    assert rewritten["iris_landmarks"]["unused_head_nodes_removed"] > 0
    assert rewritten["face_detector_full"]["cpu_narrow_convs"] == 0  # measured slower
    assert rewritten["pose_landmarks"]["cpu_narrow_convs"] == 10


def test_a_damaged_model_is_refused(built_models: store.BuiltModels, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(built_models.root / "onnx", copy / "onnx")
    shutil.copy(built_models.root / store.MANIFEST, copy / store.MANIFEST)
    store.load(copy)
    target = copy / "onnx" / "iris_landmarks.onnx"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="checksum"):
        store.load(copy)


def test_a_damaged_cpu_form_is_refused(built_models: store.BuiltModels, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(built_models.root / "onnx", copy / "onnx")
    shutil.copy(built_models.root / store.MANIFEST, copy / store.MANIFEST)
    target = copy / store.onnx_file("face_landmarks", form=store.CPU_FORM)
    target.unlink()  # the copy may share its inode with the portable form
    data = bytearray(built_models.onnx_path("face_landmarks", form=store.CPU_FORM).read_bytes())
    data[len(data) // 3] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match=r"face_landmarks \(cpu\).*checksum"):
        store.load(copy)


@pytest.mark.parametrize("spec", list(catalog.MODELS.values()), ids=lambda s: s.name)
def test_the_cpu_form_computes_what_the_portable_graph_computes(
    built_models: store.BuiltModels, spec: catalog.ModelSpec
) -> None:
    portable = OnnxRuntimeBackend({spec.name: built_models.onnx_path(spec.name)})
    cpu = OnnxRuntimeBackend({spec.name: built_models.onnx_path(spec.name, form=store.CPU_FORM)})
    batch = np.random.default_rng(4).uniform(*spec.value_range, (2, *spec.input.dims))
    a, b = portable.infer(spec, batch.astype(np.float32)), cpu.infer(spec, batch.astype(np.float32))
    for name in a:
        scale = max(1.0, float(np.abs(a[name]).max()))
        assert float(np.abs(a[name] - b[name]).max()) / scale < 1e-5, name


def test_missing_or_unreadable_manifest(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="tryon models build"):
        store.load(tmp_path)
    (tmp_path / store.MANIFEST).write_text("{not json")
    with pytest.raises(ModelUnavailable, match="unreadable"):
        store.load(tmp_path)


@pytest.mark.parametrize("variant", triton_repo.VARIANTS)
@pytest.mark.parametrize("spec", list(catalog.MODELS.values()), ids=lambda s: s.name)
def test_config_pbtxt_parses_as_triton_model_config(
    spec: catalog.ModelSpec, variant: triton_repo.Variant
) -> None:
    config = text_format.Parse(
        triton_repo.config_pbtxt(spec, variant=variant), model_config_pb2.ModelConfig()
    )
    assert config.name == spec.name
    assert config.platform == "onnxruntime_onnx"
    assert config.max_batch_size == spec.max_batch_size
    assert [(i.name, list(i.dims)) for i in config.input] == [
        (spec.input.name, list(spec.input.dims))
    ]
    assert [(o.name, list(o.dims)) for o in config.output] == [
        (o.name, list(o.dims)) for o in spec.outputs
    ]
    assert all(t.data_type == model_config_pb2.TYPE_FP32 for t in [*config.input, *config.output])
    assert list(config.dynamic_batching.preferred_batch_size) == list(spec.preferred_batch_sizes)
    group = config.instance_group[0]
    if variant == "gpu":
        assert group.kind == model_config_pb2.ModelInstanceGroup.KIND_GPU
        accelerator = config.optimization.execution_accelerators.gpu_execution_accelerator[0]
        assert accelerator.name == "tensorrt"
        assert accelerator.parameters["precision_mode"] == "FP16"
        assert accelerator.parameters["trt_engine_cache_enable"] == "1"
    else:
        assert group.kind == model_config_pb2.ModelInstanceGroup.KIND_CPU
        assert not config.optimization.execution_accelerators.gpu_execution_accelerator
        assert config.parameters["intra_op_thread_count"].string_value == "1"


def test_triton_repository_is_written_for_both_variants(built_models: store.BuiltModels) -> None:
    for variant in triton_repo.VARIANTS:
        repo = built_models.triton_repository(variant)
        for name in catalog.MODELS:
            assert (repo / name / "config.pbtxt").read_text() == triton_repo.config_pbtxt(
                catalog.MODELS[name], variant=variant
            )
            model = repo / name / "1" / "model.onnx"
            entry = built_models.manifest["models"][name]
            expected = entry["sha256"] if variant == "gpu" else entry[store.CPU_FORM]["sha256"]
            assert store.sha256_file(model) == expected


@pytest.mark.parametrize("spec", list(catalog.MODELS.values()), ids=lambda s: s.name)
def test_a_batch_of_8_equals_8_single_runs(
    built_models: store.BuiltModels, spec: catalog.ModelSpec
) -> None:
    backend = OnnxRuntimeBackend({spec.name: built_models.onnx_path(spec.name)})
    batch = np.random.default_rng(1).uniform(*spec.value_range, (8, *spec.input.dims))
    batch = batch.astype(np.float32)
    together = backend.infer(spec, batch)
    for i in range(8):
        alone = backend.infer(spec, batch[i : i + 1])
        for name in alone:
            assert np.allclose(alone[name][0], together[name][i], atol=1e-4), name


def test_catalog_json_covers_every_model() -> None:
    payload = json.loads(catalog.catalog_json())
    assert [m["name"] for m in payload["models"]] == list(catalog.MODELS)
