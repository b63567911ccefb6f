"""Perception, try-on asset preparation and rendering; ONNX Runtime in-process or Triton."""
