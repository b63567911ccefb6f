"""Convert MediaPipe TFLite models to batchable ONNX (runs inside the isolated build venv).

Executed as a script by ``ml_service.models.build`` with the build environment's interpreter
(tensorflow-cpu, tf2onnx, onnx, onnxruntime); it imports nothing from this project. It reads a
job as JSON on stdin and writes one JSON event per line to the file descriptor given as
``--events-fd N``; stdout and stderr are TensorFlow's, and only go to the build log.

For each model: convert with tf2onnx; make the batch dimension symbolic (Reshape targets that
hard-code batch 1 copy the input's batch instead); rename the tensors to the description's
names and reshape outputs to its shapes; then check a batch of 8 equals 8 single runs and the
ONNX output equals the TFLite interpreter's on the same random input.
"""

# ruff: noqa: PLC0415 - tensorflow, tf2onnx and onnx exist only in the build venv
# mypy: ignore-errors

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _emit(events: Any, **event: Any) -> None:
    events.write(json.dumps(event) + "\n")
    events.flush()


def _symbolic_batch(model: Any) -> None:
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    for node in graph.node:
        if node.op_type != "Reshape" or node.input[1] not in initializers:
            continue
        shape = numpy_helper.to_array(initializers[node.input[1]]).copy()
        if shape.size and shape[0] == 1:
            shape[0] = 0  # 0 = copy the input's first (batch) dimension
            name = f"{node.name}__batch_shape"
            graph.initializer.append(numpy_helper.from_array(shape.astype(np.int64), name))
            node.input[1] = name
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "batch"
    del graph.value_info[:]


def _keep_outputs(model: Any, names: set[str]) -> int:
    """Drop the graph outputs the description does not list, and every node only they
    needed (the iris model's eye-contour head: the runtime reads the iris alone). Returns
    how many nodes were removed."""
    graph = model.graph
    outputs = [out for out in graph.output if out.name in names]
    del graph.output[:]
    graph.output.extend(outputs)
    needed = set(names)
    kept = []
    for node in reversed(list(graph.node)):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(node.input)
    removed = len(graph.node) - len(kept)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    return removed


def _rename(model: Any, old: str, new: str) -> None:
    graph = model.graph
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in list(graph.input) + list(graph.output):
        if value.name == old:
            value.name = new


def _reshape_output(model: Any, name: str, dims: list[int]) -> None:
    """Make output ``name`` have shape [batch, *dims] (same element count)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    current = next(out for out in graph.output if out.name == name)
    shape = [d.dim_value for d in current.type.tensor_type.shape.dim[1:]]
    if shape == dims:
        return
    raw = f"{name}__raw"
    _rename(model, name, raw)
    target = numpy_helper.from_array(np.array([0, *dims], dtype=np.int64), f"{name}__shape")
    graph.initializer.append(target)
    graph.node.append(helper.make_node("Reshape", [raw, target.name], [name], name=f"{name}__out"))
    index = [out.name for out in graph.output].index(raw)
    graph.output.remove(graph.output[index])
    graph.output.insert(
        index, helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *dims])
    )


def _prelu_as_depthwise(model: Any) -> int:
    """Rewrite ``PRelu(x)`` with per-channel constant slopes ``a`` as
    ``x + sign(c) * Relu(-|c| * x)`` with ``c = 1 - a``, made of two 1x1 depthwise convolutions.

    The value is the same (for x < 0: x + c * -x = a * x; for x >= 0: x). The point is speed on
    the CPU: ONNX Runtime runs convolutions in its blocked NCHWc layout, which has no PRelu, so
    it converts the tensor back and forth around each of the face and iris models' 23 and 53
    PRelus (about 60% of their time). A depthwise convolution stays in that layout and takes
    the Relu and the Add into itself (fused activation and sum), so the rewrite keeps the whole
    network blocked. Returns how many nodes were rewritten.
    """
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    nodes = []
    rewritten = 0
    for node in graph.node:
        slope = initializers.get(node.input[1]) if node.op_type == "PRelu" else None
        if slope is None or len(slope.dims) not in (3, 4) or any(d != 1 for d in slope.dims[-2:]):
            nodes.append(node)
            continue
        a = numpy_helper.to_array(slope).astype(np.float32).reshape(-1)
        channels = a.size
        c = (np.float32(1.0) - a).astype(np.float32)
        base = f"{node.name or node.output[0]}__prelu"
        scale = numpy_helper.from_array((-np.abs(c)).reshape(channels, 1, 1, 1), f"{base}_scale")
        sign = numpy_helper.from_array(
            np.sign(c).astype(np.float32).reshape(channels, 1, 1, 1), f"{base}_sign"
        )
        graph.initializer.extend([scale, sign])
        x, y = node.input[0], node.output[0]
        depthwise = {"group": channels, "kernel_shape": [1, 1]}
        nodes += [
            helper.make_node("Conv", [x, scale.name], [f"{base}_neg"], f"{base}_neg", **depthwise),
            helper.make_node("Relu", [f"{base}_neg"], [f"{base}_relu"], f"{base}_relu"),
            helper.make_node(
                "Conv",
                [f"{base}_relu", sign.name],
                [f"{base}_signed"],
                f"{base}_signed",
                **depthwise,
            ),
            helper.make_node("Add", [x, f"{base}_signed"], [y], f"{base}_add"),
        ]
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return rewritten


NCHWC_BLOCK = 16  # ONNX Runtime's blocked layout on AVX-512 (8 on AVX2)


def _narrow_convs_unblocked(model: Any) -> int:
    """Keep convolutions with few channels in and out (under one block) in the plain layout.

    ONNX Runtime's blocked (NCHWc) layout pads channels to a whole block; the pose model's
    segmentation head runs at 256 x 256 with 8 channels, where that padding doubles the work
    and brings a layout conversion around every Add and Resize (half the model's time for
    its 33 smallest nodes). ONNX Runtime converts only convolutions with constant weights, so
    listing these weights as (overridable) graph inputs keeps them in the plain layout, where
    its fused convolution takes the Add and the Clip in. The values do not change. Returns how
    many convolutions were kept out.
    """
    from onnx import helper

    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    inputs = {value.name for value in graph.input}
    kept = 0
    for node in graph.node:
        weights = initializers.get(node.input[1]) if node.op_type == "Conv" else None
        if weights is None or weights.name in inputs:
            continue
        out_channels, in_channels = weights.dims[0], weights.dims[1]
        if out_channels < NCHWC_BLOCK and in_channels <= NCHWC_BLOCK:
            graph.input.append(
                helper.make_tensor_value_info(weights.name, weights.data_type, list(weights.dims))
            )
            inputs.add(weights.name)
            kept += 1
    return kept


def _drop_unused_initializers(model: Any) -> None:
    used = {name for node in model.graph.node for name in node.input}
    keep = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def _check(job: dict[str, Any], path: str) -> dict[str, float]:
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    in_name = job["input"]["name"]
    dims = job["input"]["dims"]
    rng = np.random.default_rng(7)
    lo, hi = job["value_range"]
    batch = rng.uniform(lo, hi, size=(8, *dims)).astype(np.float32)
    out_names = [out["name"] for out in job["outputs"]]
    batched = session.run(out_names, {in_name: batch})
    batch_diff = 0.0
    for i in range(8):
        single = session.run(out_names, {in_name: batch[i : i + 1]})
        for a, b in zip(single, batched, strict=True):
            batch_diff = max(batch_diff, float(np.max(np.abs(a - b[i : i + 1]))))

    interpreter = tf.lite.Interpreter(model_path=job["tflite"])
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch[:1])
    interpreter.invoke()
    by_name = {d["name"]: d["index"] for d in interpreter.get_output_details()}
    tflite_diff = 0.0
    for out, ours in zip(job["outputs"], batched, strict=True):
        reference = interpreter.get_tensor(by_name[out["source"]]).reshape(ours[:1].shape)
        scale = max(1.0, float(np.max(np.abs(reference))))
        tflite_diff = max(tflite_diff, float(np.max(np.abs(reference - ours[:1]))) / scale)
    return {"batch_max_abs_diff": batch_diff, "tflite_max_rel_diff": tflite_diff}


_DENSE_BY_CONTENT: dict[bytes, Any] = {}


def _enable_densify() -> None:
    """Teach tf2onnx MediaPipe's sparse weights (TFLite DENSIFY of a sparse constant).

    tf2onnx reads every constant buffer as dense and fails on sparse ones. We let the TFLite
    interpreter densify them (``_register_dense``), hand tf2onnx the dense array when it
    decodes that buffer, and turn DENSIFY itself into an Identity.
    """
    from tensorflow.python.framework import tensor_util
    from tf2onnx.handler import tfl_op

    if getattr(tensor_util, "_tryon_densify", False):
        return
    original = tensor_util.MakeNdarray

    def make_ndarray(tensor: Any) -> Any:
        dense = _DENSE_BY_CONTENT.get(tensor.tensor_content)
        return dense if dense is not None else original(tensor)

    tensor_util.MakeNdarray = make_ndarray
    tensor_util._tryon_densify = True

    @tfl_op("TFL_DENSIFY", tf_op="Identity")
    class _Densify:
        @classmethod
        def to_tf(cls, ctx: Any, node: Any, **kwargs: Any) -> None:
            pass


def _register_dense(tflite_path: str) -> None:
    import numpy as np
    import tensorflow as tf
    from tf2onnx.tflite.Model import Model

    # Without the default (XNNPACK) delegate, so that DENSIFY runs in the interpreter
    # and its dense output stays readable.
    interpreter = tf.lite.Interpreter(
        model_path=tflite_path,
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    ops = [op for op in interpreter._get_ops_details() if op["op_name"] == "DENSIFY"]
    if not ops:
        return
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=np.float32))
    interpreter.invoke()
    with open(tflite_path, "rb") as handle:
        flat = Model.GetRootAsModel(bytearray(handle.read()), 0)
    graph = flat.Subgraphs(0)
    for op in ops:
        sparse = graph.Tensors(int(op["inputs"][0]))
        content = flat.Buffers(sparse.Buffer()).DataAsNumpy().tobytes()
        _DENSE_BY_CONTENT[content] = interpreter.get_tensor(int(op["outputs"][0])).copy()
    _enable_densify()


def convert(job: dict[str, Any]) -> dict[str, float]:
    """Write the portable model and its ONNX Runtime CPU form; return both's checks."""
    import copy

    import onnx
    import tf2onnx

    _register_dense(job["tflite"])
    model, _ = tf2onnx.convert.from_tflite(job["tflite"], opset=job["opset"])
    _symbolic_batch(model)
    _rename(model, job["input"]["source"], job["input"]["name"])
    for out in job["outputs"]:
        _rename(model, out["source"], out["name"])
    pruned = _keep_outputs(model, {out["name"] for out in job["outputs"]})
    for out in job["outputs"]:
        _reshape_output(model, out["name"], out["dims"])
    _drop_unused_initializers(model)
    model.producer_name = "tryon-models-build"
    onnx.checker.check_model(model)
    onnx.save(model, job["output"])
    checks = _check(job, job["output"])

    cpu = copy.deepcopy(model)
    prelus = _prelu_as_depthwise(cpu)
    narrow = _narrow_convs_unblocked(cpu) if job.get("unblock_narrow", True) else 0
    _drop_unused_initializers(cpu)
    onnx.checker.check_model(cpu)
    onnx.save(cpu, job["cpu_output"])
    cpu_checks = _check(job, job["cpu_output"])
    return {
        **checks,
        **{f"cpu_{key}": value for key, value in cpu_checks.items()},
        "cpu_prelu_rewritten": prelus,
        "cpu_narrow_convs": narrow,
        "unused_head_nodes_removed": pruned,
    }


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] != "--events-fd":
        sys.stderr.write("usage: convert_worker.py --events-fd N < request.json\n")
        return 2
    events = os.fdopen(int(sys.argv[2]), "w")
    request = json.load(sys.stdin)
    for job in request["models"]:
        _emit(events, event="start", model=job["name"])
        try:
            checks = convert(job)
        except Exception as exc:
            _emit(events, event="error", model=job["name"], error=f"{type(exc).__name__}: {exc}")
            return 1
        tolerance = request["tolerance"]
        diffs = [v for k, v in checks.items() if k.endswith(("_max_abs_diff", "_max_rel_diff"))]
        if max(diffs) > tolerance:
            _emit(events, event="error", model=job["name"], error=f"verification failed: {checks}")
            return 1
        _emit(events, event="done", model=job["name"], **checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
