"""``tryon models build``: MediaPipe wheel -> TFLite files -> batchable ONNX -> Triton repository.

Steps (each shown on a progress bar): create the pinned build environment; unpack the
``mediapipe`` wheel from PyPI (no dependencies) and check each TFLite file's sha256 against its
description; convert and verify the models in the build environment
(``convert_worker.py``); write the manifest with checksums and the Triton repository. The
result goes to ``<cache>/models/<key>`` atomically, under a lock; a build whose key is already
there is only verified.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from ml_service.errors import ModelBuildError, ModelUnavailable
from ml_service.models import catalog, store, triton_repo, venvs

VERIFY_TOLERANCE = 1e-3


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], *, step: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - argv we build, no shell
        command, capture_output=True, text=True, check=False, **kwargs
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise ModelBuildError(" | ".join(tail) or f"exit {result.returncode}", step=step)
    return result


def fetch_sources(*, cache_dir: Path, python: Path) -> Path:
    """Unpack the mediapipe wheel (no dependencies) and return its site root."""
    target = cache_dir / "wheels" / f"mediapipe-{catalog.MEDIAPIPE_VERSION}"
    if not (target / ".ready").is_file():
        shutil.rmtree(target, ignore_errors=True)
        uv = venvs.find_uv(cache_dir)
        _run(
            [
                *(str(uv), "pip", "install", "--quiet", "--no-deps", "--python", str(python)),
                *("--target", str(target), f"mediapipe=={catalog.MEDIAPIPE_VERSION}"),
            ],
            step="fetch mediapipe wheel",
        )
        (target / ".ready").touch()
    for spec in catalog.MODELS.values():
        path = target / spec.source
        if not path.is_file():
            raise ModelBuildError(f"{spec.source} not in the wheel", step="fetch mediapipe wheel")
        if store.sha256_file(path) != spec.source_sha256:
            raise ModelBuildError(f"{spec.source} has an unexpected sha256", step="check sources")
    return target


def _job(spec: catalog.ModelSpec, *, sources: Path, out_dir: Path) -> dict[str, Any]:
    return {
        "name": spec.name,
        "tflite": str(sources / spec.source),
        "opset": catalog.ONNX_OPSET,
        "output": str(out_dir / f"{spec.name}.onnx"),
        "cpu_output": str(out_dir / f"{spec.name}.cpu.onnx"),
        "value_range": list(spec.value_range),
        "input": asdict(spec.input),
        "outputs": [asdict(out) for out in spec.outputs],
        "unblock_narrow": spec.cpu_unblock_narrow,
    }


def _convert(
    *,
    python: Path,
    sources: Path,
    out_dir: Path,
    bar: tqdm[Any],
    log_path: Path,
    worker: Path = store.WORKER,
) -> dict[str, dict[str, float]]:
    """Run the converter; its events come on a pipe of their own, its output goes to a file.

    TensorFlow writes to stdout and stderr as it pleases: neither is parsed, and neither can
    fill a pipe and block the converter, whatever it writes.
    """
    request = {
        "tolerance": VERIFY_TOLERANCE,
        "models": [_job(s, sources=sources, out_dir=out_dir) for s in catalog.MODELS.values()],
    }
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    events_read, events_write = os.pipe()
    try:
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - argv we build, no shell
                [str(python), str(worker), "--events-fd", str(events_write)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(events_write,),
                env=env,
            )
    except BaseException:
        os.close(events_read)
        raise
    finally:
        os.close(events_write)  # the child holds its copy: EOF comes when the child ends
    checks: dict[str, dict[str, float]] = {}
    error = None
    with os.fdopen(events_read, "r") as events:
        try:
            stdin: IO[bytes] | None = process.stdin
            if stdin is None:  # pragma: no cover - PIPE given
                raise ModelBuildError("no pipe to the converter", step="convert")
            with contextlib.suppress(BrokenPipeError):  # it died early: its log says why
                stdin.write(json.dumps(request).encode())
                stdin.close()
            for line in events:
                event = json.loads(line)
                if event["event"] == "start":
                    bar.set_postfix_str(f"converting {event['model']}")
                elif event["event"] == "done":
                    checks[event["model"]] = {
                        k: v for k, v in event.items() if k not in {"event", "model"}
                    }
                    bar.update(1)
                elif event["event"] == "error":
                    error = f"{event['model']}: {event['error']}"
        finally:
            returncode = process.wait()
    if returncode != 0 or error:
        lines = log_path.read_text(errors="replace").strip().splitlines()
        tail = " | ".join(lines[-3:])
        raise ModelBuildError(
            f"{error or tail or f'converter exited with status {returncode}'} (log: {log_path})",
            step="convert",
        )
    return checks


def _link_identical_forms(root: Path) -> None:
    """A model with nothing to rewrite for the CPU has one file under both names."""
    for name in catalog.MODELS:
        portable = root / store.onnx_file(name, form=store.PORTABLE)
        cpu = root / store.onnx_file(name, form=store.CPU_FORM)
        if portable.read_bytes() == cpu.read_bytes():
            cpu.unlink()
            os.link(portable, cpu)


def _file_entry(root: Path, name: str, form: store.Form) -> dict[str, Any]:
    path = root / store.onnx_file(name, form=form)
    return {
        "file": store.onnx_file(name, form=form),
        "sha256": store.sha256_file(path),
        "size": path.stat().st_size,
    }


def _write_triton(root: Path) -> None:
    for variant in triton_repo.VARIANTS:
        for spec in catalog.MODELS.values():
            model_dir = root / "triton" / variant / spec.name
            (model_dir / "1").mkdir(parents=True)
            (model_dir / "config.pbtxt").write_text(triton_repo.config_pbtxt(spec, variant=variant))
            # The GPU variant serves the portable graph; the CPU variant the form tuned for
            # ONNX Runtime's CPU kernels (store.CPU_FORM).
            form = store.CPU_FORM if variant == "cpu" else store.PORTABLE
            os.link(root / store.onnx_file(spec.name, form=form), model_dir / "1" / "model.onnx")


def build(*, cache_dir: Path, force: bool = False, progress: bool = True) -> Path:
    """Build the models unless a verified build with the same key exists; return its path."""
    key = store.build_key()
    root = cache_dir / "models" / key
    with _locked(cache_dir / "models" / ".lock"):
        if not force:
            with contextlib.suppress(ModelUnavailable):
                store.load(root)
                return root
        started = time.monotonic()
        steps = 3 + len(catalog.MODELS)
        with tqdm(total=steps, desc="models build", unit="step", disable=not progress) as bar:
            bar.set_postfix_str("build environment")
            venv = venvs.ensure_venv(name="build", cache_dir=cache_dir)
            python = venvs.python_of(venv)
            bar.update(1)
            bar.set_postfix_str(f"mediapipe {catalog.MEDIAPIPE_VERSION} wheel")
            sources = fetch_sources(cache_dir=cache_dir, python=python)
            bar.update(1)
            partial = root.with_name(root.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            (partial / "onnx").mkdir(parents=True)
            checks = _convert(
                python=python,
                sources=sources,
                out_dir=partial / "onnx",
                bar=bar,
                log_path=root.with_name(root.name + ".convert.log"),
            )
            _link_identical_forms(partial)
            bar.set_postfix_str("manifest and Triton repository")
            _write_triton(partial)
            manifest = {
                "key": key,
                "mediapipe": catalog.MEDIAPIPE_VERSION,
                "opset": catalog.ONNX_OPSET,
                "build_seconds": round(time.monotonic() - started, 1),
                "models": {
                    name: {
                        **_file_entry(partial, name, store.PORTABLE),
                        "source": spec.source,
                        "source_sha256": spec.source_sha256,
                        "checks": checks[name],
                        store.CPU_FORM: _file_entry(partial, name, store.CPU_FORM),
                    }
                    for name, spec in catalog.MODELS.items()
                },
            }
            (partial / store.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            shutil.rmtree(root, ignore_errors=True)
            partial.rename(root)
            bar.update(1)
        store.load(root)
        return root
