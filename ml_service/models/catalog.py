"""One description per model: the single source for the build, Triton configs and clients.

Tensor names are ours (the converter renames the TFLite graph's outputs); shapes exclude the
batch dimension, which every built model has as its symbolic first dimension.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Literal

MEDIAPIPE_VERSION = "0.10.21"
ONNX_OPSET = 17

DType = Literal["FP32"]


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A named tensor: ``dims`` exclude the batch dimension."""

    name: str
    dims: tuple[int, ...]
    dtype: DType = "FP32"
    source: str = ""  # the tensor's name in the converted TFLite graph, when renamed


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model as built and served."""

    name: str
    source: str  # path inside the mediapipe wheel
    source_sha256: str
    input: TensorSpec
    outputs: tuple[TensorSpec, ...]
    value_range: tuple[float, float]  # the input's pixel range after normalisation
    max_batch_size: int = 8
    preferred_batch_sizes: tuple[int, ...] = (2, 4, 8)
    # CPU form: keep convolutions under one channel block out of ONNX Runtime's blocked
    # layout (convert_worker); off where that measured slower (the full-range detector).
    cpu_unblock_narrow: bool = True

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the NHWC input."""
        return self.input.dims[0], self.input.dims[1]

    def output(self, name: str) -> TensorSpec:
        for spec in self.outputs:
            if spec.name == name:
                return spec
        raise KeyError(name)


FACE_DETECTOR = ModelSpec(
    name="face_detector",
    source="mediapipe/modules/face_detection/face_detection_short_range.tflite",
    source_sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    input=TensorSpec("image", (128, 128, 3), source="input"),
    outputs=(
        TensorSpec("regressors", (896, 16), source="regressors"),
        TensorSpec("classificators", (896, 1), source="classificators"),
    ),
    value_range=(-1.0, 1.0),
)

# The full-range ("back camera") BlazeFace: faces up to about 5 m, for group photos and
# half-body shots. Its weights are sparse (TFLite DENSIFY), densified at conversion.
FACE_DETECTOR_FULL = ModelSpec(
    name="face_detector_full",
    source="mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
    source_sha256="2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    input=TensorSpec("image", (192, 192, 3), source="input_1"),
    outputs=(
        TensorSpec("regressors", (2304, 16), source="Identity"),
        TensorSpec("classificators", (2304, 1), source="Identity_1"),
    ),
    value_range=(-1.0, 1.0),
    cpu_unblock_narrow=False,  # 4.5 ms unblocked against 4.8 (p50, 1 thread)
)

FACE_LANDMARKS = ModelSpec(
    name="face_landmarks",
    source="mediapipe/modules/face_landmark/face_landmark.tflite",
    source_sha256="1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    input=TensorSpec("image", (192, 192, 3), source="input_1"),
    outputs=(
        TensorSpec("landmarks", (1404,), source="conv2d_21"),
        TensorSpec("presence", (1,), source="conv2d_31"),
    ),
    value_range=(0.0, 1.0),
)

IRIS_LANDMARKS = ModelSpec(
    name="iris_landmarks",
    source="mediapipe/modules/iris_landmark/iris_landmark.tflite",
    source_sha256="d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    input=TensorSpec("image", (64, 64, 3), source="input_1"),
    # The model's other output (71 eye-contour and brow points) is cut at conversion: the
    # face mesh gives the eye contours, and that head is 30% of the graph's nodes.
    outputs=(TensorSpec("iris", (15,), source="output_iris"),),
    value_range=(0.0, 1.0),
)

POSE_LANDMARKS = ModelSpec(
    name="pose_landmarks",
    source="mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
    source_sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    input=TensorSpec("image", (256, 256, 3), source="input_1"),
    outputs=(
        TensorSpec("landmarks", (195,), source="Identity"),
        TensorSpec("presence", (1,), source="Identity_1"),
        TensorSpec("segmentation", (256, 256, 1), source="Identity_2"),
        TensorSpec("heatmap", (64, 64, 39), source="Identity_3"),
        TensorSpec("world_landmarks", (117,), source="Identity_4"),
    ),
    value_range=(0.0, 1.0),
    max_batch_size=4,
    preferred_batch_sizes=(2, 4),
)

POSE_DETECTOR = ModelSpec(
    name="pose_detector",
    source="mediapipe/modules/pose_detection/pose_detection.tflite",
    source_sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    input=TensorSpec("image", (224, 224, 3), source="input_1"),
    outputs=(
        TensorSpec("regressors", (2254, 12), source="Identity"),
        TensorSpec("classificators", (2254, 1), source="Identity_1"),
    ),
    value_range=(-1.0, 1.0),
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        FACE_DETECTOR,
        FACE_DETECTOR_FULL,
        FACE_LANDMARKS,
        IRIS_LANDMARKS,
        POSE_DETECTOR,
        POSE_LANDMARKS,
    )
}


def catalog_json() -> str:
    """A canonical JSON of every description (part of the build's cache key)."""
    payload = {
        "mediapipe": MEDIAPIPE_VERSION,
        "opset": ONNX_OPSET,
        "models": [asdict(spec) for spec in MODELS.values()],
    }
    return json.dumps(payload, sort_keys=True)


def catalog_digest() -> str:
    return hashlib.sha256(catalog_json().encode()).hexdigest()
