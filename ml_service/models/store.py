"""Where built models live and how the runtime finds and verifies them.

A build is keyed by the hash of everything that determines its output (the model
descriptions, the converter's, the build's and the Triton config generator's source, the
pinned build environment): ``<cache>/models/<key>``.
The runtime computes the same key from the same files, so a fresh clone finds a build made by
any other clone on the machine without configuration. ``TRYON_ML_MODELS_DIR`` overrides it.

Each model is built in two forms with the same inputs, outputs and values: ``portable`` (the
converted graph, for GPU execution providers and Triton's GPU variant) and ``cpu`` (rewritten
for ONNX Runtime's CPU kernels: PRelu as depthwise convolutions, narrow convolutions kept out
of the blocked layout; for the in-process CPU backend and Triton's CPU variant).

Layout::

    <key>/manifest.json             key, versions, per-model file, sha256, size, checks
    <key>/onnx/<model>.onnx         portable form
    <key>/onnx/<model>.cpu.onnx     CPU form (manifest: models.<model>.cpu)
    <key>/triton/{gpu,cpu}/<model>/config.pbtxt and 1/model.onnx
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ml_service.errors import ModelUnavailable
from ml_service.models import catalog
from ml_service.models.venvs import requirements_file
from ml_service.settings import MLSettings

MANIFEST = "manifest.json"
WORKER = Path(__file__).with_name("convert_worker.py")

Form = Literal["portable", "cpu"]
PORTABLE: Form = "portable"
CPU_FORM: Form = "cpu"
FORMS: tuple[Form, ...] = (PORTABLE, CPU_FORM)


def onnx_file(name: str, *, form: Form = PORTABLE) -> str:
    """A model's file, relative to the build directory."""
    return f"onnx/{name}.onnx" if form == PORTABLE else f"onnx/{name}.{form}.onnx"


def build_key() -> str:
    """The content hash of the build's inputs."""
    digest = hashlib.sha256()
    digest.update(catalog.catalog_json().encode())
    digest.update(WORKER.read_bytes())
    for module in ("build.py", "triton_repo.py"):  # the layout and the configs they write
        digest.update(Path(__file__).with_name(module).read_bytes())
    digest.update(requirements_file("build").read_bytes())
    return digest.hexdigest()[:20]


def default_models_dir(cache_dir: Path) -> Path:
    return cache_dir / "models" / build_key()


def models_dir(settings: MLSettings) -> Path:
    if settings.models_dir is not None:
        return settings.models_dir.expanduser()
    return default_models_dir(settings.resolved_cache_dir)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class BuiltModels:
    """A verified build: the ONNX file of each model and the manifest."""

    root: Path
    manifest: dict[str, Any]

    def onnx_path(self, name: str, *, form: Form = PORTABLE) -> Path:
        return self.root / onnx_file(name, form=form)

    def triton_repository(self, variant: str) -> Path:
        return self.root / "triton" / variant


def load(root: Path, *, verify: bool = True) -> BuiltModels:
    """Open the build at ``root``; with ``verify`` check every file's size and sha256."""
    manifest_path = root / MANIFEST
    hint = "run 'tryon models build' (or 'make models')"
    if not manifest_path.is_file():
        raise ModelUnavailable(f"no built models in {root}: {hint}", models_dir=str(root))
    try:
        manifest = json.loads(manifest_path.read_text())
        entries = manifest["models"]
    except (ValueError, KeyError) as exc:
        raise ModelUnavailable(
            f"unreadable manifest in {root}: {hint}", models_dir=str(root)
        ) from exc
    built = BuiltModels(root=root, manifest=manifest)
    for name in catalog.MODELS:
        for form in FORMS:
            model = entries.get(name)
            entry = model if form == PORTABLE or model is None else model.get(form)
            path = built.onnx_path(name, form=form)
            if not isinstance(entry, dict) or not path.is_file():
                raise ModelUnavailable(
                    f"model {name} ({form}) missing in {root}: {hint}", models_dir=str(root)
                )
            if verify and (
                path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]
            ):
                raise ModelUnavailable(
                    f"model {name} ({form}) in {root} fails its checksum: rebuild with "
                    "'tryon models build --force'",
                    models_dir=str(root),
                )
    return built
