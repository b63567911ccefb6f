"""Person detection with MediaPipe's BlazePose detector (224 x 224, 2254 anchors).

It predicts a body from the face region and four keypoints: 0 hip centre, 1 a point on the
circle enclosing the full body, 2 shoulder centre, 3 a point on the upper-body circle. The
body crop for the landmark model is the full-body circle: centre keypoint 0, side 2 x |1 - 0|,
rotated so that 0 -> 1 points up, scaled by 1.25.
"""

from __future__ import annotations

from ml_service.perception.geometry import Roi
from ml_service.perception.pose import roi_from_auxiliary
from ml_service.perception.ssd import Detection, SsdConfig

CONFIG = SsdConfig(input_size=224, strides=(8, 16, 32, 32, 32), num_keypoints=4)


def body_roi(detection: Detection) -> Roi:
    """The landmark model's crop for a detected person (the same rule as between frames)."""
    return roi_from_auxiliary(detection.keypoints[:2])
