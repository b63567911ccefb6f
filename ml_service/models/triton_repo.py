"""Triton model repository text, generated from the model descriptions.

Two variants share the model files: ``gpu`` (NGC Triton, onnxruntime backend on GPU with the
TensorRT FP16 accelerator and an engine cache) and ``cpu`` (onnxruntime backend on CPU
instances). Both enable dynamic batching with the description's preferred batch sizes.
"""

from __future__ import annotations

from typing import Literal

from ml_service.models.catalog import ModelSpec, TensorSpec

Variant = Literal["gpu", "cpu"]
VARIANTS: tuple[Variant, ...] = ("gpu", "cpu")
MAX_QUEUE_DELAY_US = 500
TRT_WORKSPACE_BYTES = 1 << 30
TRT_ENGINE_CACHE = "/tmp/triton-trt-cache"  # noqa: S108 - a path inside the Triton container


def _tensor(spec: TensorSpec) -> str:
    dims = ", ".join(str(d) for d in spec.dims)
    return f'  {{ name: "{spec.name}" data_type: TYPE_{spec.dtype} dims: [ {dims} ] }}'


def _tensors(label: str, specs: tuple[TensorSpec, ...]) -> str:
    return f"{label} [\n" + ",\n".join(_tensor(s) for s in specs) + "\n]"


def _parameters(params: dict[str, str], indent: str) -> str:
    return "\n".join(
        f'{indent}parameters {{ key: "{key}" value: "{value}" }}' for key, value in params.items()
    )


def config_pbtxt(spec: ModelSpec, *, variant: Variant, cpu_threads: int = 1) -> str:
    """The ``config.pbtxt`` of ``spec`` for ``variant``."""
    sizes = ", ".join(str(s) for s in spec.preferred_batch_sizes if s <= spec.max_batch_size)
    parts = [
        f'name: "{spec.name}"',
        'platform: "onnxruntime_onnx"',
        f"max_batch_size: {spec.max_batch_size}",
        _tensors("input", (spec.input,)),
        _tensors("output", spec.outputs),
        "dynamic_batching {\n"
        f"  preferred_batch_size: [ {sizes} ]\n"
        f"  max_queue_delay_microseconds: {MAX_QUEUE_DELAY_US}\n"
        "}",
    ]
    if variant == "gpu":
        trt = {
            "precision_mode": "FP16",
            "max_workspace_size_bytes": str(TRT_WORKSPACE_BYTES),
            "trt_engine_cache_enable": "1",
            "trt_engine_cache_path": f"{TRT_ENGINE_CACHE}/{spec.name}",
        }
        parts.append("instance_group [ { count: 1 kind: KIND_GPU } ]")
        parts.append(
            "optimization {\n  execution_accelerators {\n    gpu_execution_accelerator : [ {\n"
            '      name : "tensorrt"\n' + _parameters(trt, "      ") + "\n    } ]\n  }\n}"
        )
    else:
        parts.append("instance_group [ { count: 2 kind: KIND_CPU } ]")
        threads = {"intra_op_thread_count": str(cpu_threads), "inter_op_thread_count": "1"}
        parts.extend(
            f'parameters {{ key: "{key}" value: {{ string_value: "{value}" }} }}'
            for key, value in threads.items()
        )
    return "\n".join(parts) + "\n"
