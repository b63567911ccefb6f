"""Face and body perception: ``Perceiver`` for photos, ``FaceTracker`` for video."""

from ml_service.perception.perceiver import Perceiver
from ml_service.perception.tracker import FaceTracker

__all__ = ["FaceTracker", "Perceiver"]
