"""Face detection with MediaPipe's BlazeFace: short range (128 x 128, 896 anchors; faces
within about 2 m, selfies) and full range (192 x 192, 2304 anchors at stride 4, one per cell;
faces up to about 5 m: group photos, half-body shots). Both letterbox the frame, take values
in -1..1, decode offsets / input size and merge with a weighted NMS at IoU 0.3 (MediaPipe's
face_detection graphs).

Keypoints: 0 right eye, 1 left eye, 2 nose tip, 3 mouth centre, 4 right ear tragion, 5 left
ear tragion (the subject's right and left).
"""

from __future__ import annotations

from ml_service.perception.ssd import Detection, SsdConfig

CONFIG = SsdConfig(input_size=128, strides=(8, 16, 16, 16), num_keypoints=6)
FULL_RANGE_CONFIG = SsdConfig(input_size=192, strides=(4,), num_keypoints=6, anchors_per_layer=1)
FULL_RANGE_MIN_SCORE = 0.6  # the full-range graph's candidate score floor

__all__ = ["CONFIG", "FULL_RANGE_CONFIG", "FULL_RANGE_MIN_SCORE", "Detection"]
