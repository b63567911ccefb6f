"""Face detection with MediaPipe's short-range BlazeFace (128 x 128, 896 anchors).

Keypoints: 0 right eye, 1 left eye, 2 nose tip, 3 mouth centre, 4 right ear tragion, 5 left
ear tragion (the subject's right and left).
"""

from __future__ import annotations

from ml_service.perception.ssd import Detection, SsdConfig

CONFIG = SsdConfig(input_size=128, strides=(8, 16, 16, 16), num_keypoints=6)

__all__ = ["CONFIG", "Detection"]
