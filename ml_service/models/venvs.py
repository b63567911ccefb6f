"""Isolated virtual environments (model build, MediaPipe reference, PyTriton) in the cache.

Each environment is pinned by a requirements file beside this module and lives under
``<cache>/venvs/<name>-<hash>``, the hash covering the file and the Python version, so a
changed pin makes a new environment and an unchanged one is reused. They are created with uv
(the project's own installer) and never imported into this process: they run as subprocesses.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ml_service.errors import ModelBuildError

ENVS_DIR = Path(__file__).with_name("envs")
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def requirements_file(name: str) -> Path:
    path = ENVS_DIR / f"{name}.txt"
    if not path.is_file():
        raise ModelBuildError(f"no pinned environment named {name!r}", step="venv")
    return path


def venv_dir(*, name: str, cache_dir: Path) -> Path:
    digest = hashlib.sha256(requirements_file(name).read_bytes() + PYTHON_VERSION.encode())
    return cache_dir / "venvs" / f"{name}-{digest.hexdigest()[:12]}"


def find_uv(cache_dir: Path) -> Path:
    """uv from $UV, the PATH, or the copy the Makefile installs into the cache."""
    candidates = [os.environ.get("UV"), shutil.which("uv")]
    candidates += [str(p) for p in sorted((cache_dir / "tools").glob("uv-*/bin/uv"), reverse=True)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ModelBuildError("uv not found: run 'make install' first (it installs uv)", step="venv")


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(*, name: str, cache_dir: Path) -> Path:
    """Create the pinned environment ``name`` unless it exists; return its directory."""
    target = venv_dir(name=name, cache_dir=cache_dir)
    if (target / ".ready").is_file():
        return target
    uv = find_uv(cache_dir)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [str(uv), "venv", "--quiet", "--python", PYTHON_VERSION, str(partial)],
        [
            str(uv),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python_of(partial)),
            "-r",
            str(requirements_file(name)),
        ],
    ]
    for command in steps:
        result = subprocess.run(  # noqa: S603 - argv we build, no shell
            command, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise ModelBuildError(f"creating venv {name!r} failed: {' | '.join(tail)}", step="venv")
    # uv venvs hard-code their own path in scripts; python itself is location independent,
    # and we only ever run bin/python, so a rename is safe.
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    (target / ".ready").write_text(PYTHON_VERSION)
    return target
