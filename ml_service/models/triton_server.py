"""Serve the built ONNX models on a real tritonserver through PyTriton (its own venv only).

Started by ``ml_service.models.pytriton.serve`` with the 'pytriton' venv's interpreter in
isolated mode (``python -I``: this directory holds ``pytriton.py``, which must not shadow the
``pytriton`` package). The model descriptions come as JSON on stdin (generated from
ml_service.models.catalog), so names, shapes and batching are the ones the production
config.pbtxt files declare. Each model is an ONNX Runtime session bound as a Triton model with
dynamic batching. Readiness is Triton's own (``/v2/health/ready`` and each model's ready
endpoint), polled by the caller; nothing is announced on stdout. Stops on SIGTERM or SIGINT.

Usage: python -I triton_server.py MODELS_DIR HTTP_PORT GRPC_PORT METRICS_PORT < specs.json
"""

# mypy: ignore-errors

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig


def _infer_fn(session: ort.InferenceSession, input_name: str, outputs: list[str]):
    @batch
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        results = session.run(outputs, {input_name: inputs[input_name].astype(np.float32)})
        return dict(zip(outputs, results, strict=True))

    return infer


def main() -> None:
    models_dir = Path(sys.argv[1])
    http_port, grpc_port, metrics_port = (int(a) for a in sys.argv[2:5])
    specs = json.load(sys.stdin)
    config = TritonConfig(
        http_address="127.0.0.1",
        http_port=http_port,
        grpc_address="127.0.0.1",
        grpc_port=grpc_port,
        metrics_port=metrics_port,
        exit_on_error=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Triton(config=config) as triton:
        for spec in specs:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            session = ort.InferenceSession(
                str(models_dir / "onnx" / f"{spec['name']}.onnx"), sess_options=options
            )
            names = [o["name"] for o in spec["outputs"]]
            triton.bind(
                model_name=spec["name"],
                infer_func=_infer_fn(session, spec["input"]["name"], names),
                inputs=[
                    Tensor(
                        name=spec["input"]["name"],
                        dtype=np.float32,
                        shape=tuple(spec["input"]["dims"]),
                    )
                ],
                outputs=[
                    Tensor(name=o["name"], dtype=np.float32, shape=tuple(o["dims"]))
                    for o in spec["outputs"]
                ],
                config=ModelConfig(
                    max_batch_size=spec["max_batch_size"],
                    batcher=DynamicBatcher(max_queue_delay_microseconds=500),
                ),
                strict=True,
            )
        triton.run()
        stop.wait()


if __name__ == "__main__":
    main()
