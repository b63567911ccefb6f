"""Write tests/ml_service/fixtures/mediapipe_reference.json and mediapipe_full_range.json
from MediaPipe 0.10.21 itself.

Creates the pinned 'mediapipe' venv under $TRYON_CACHE_DIR if needed, renders every test
photo variant (testkit/variants.py) to PNG in a temporary directory, runs
scripts/ml/mediapipe_runner.py there and stores its answer, with the sha256 of each variant's
pixels so the tests can tell when the variants no longer match the fixture. The full-range
fixture (FaceDetection with model_selection=1) covers every test photo (testkit.images.NAMES,
group photos included) and every variant. Run with `make ml-fixture`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.models import venvs  # noqa: E402
from ml_service.settings import MLSettings  # noqa: E402
from testkit.images import NAMES, load_bgr  # noqa: E402
from testkit.variants import IMAGES, VARIANTS, key  # noqa: E402

FIXTURE = ROOT / "tests" / "ml_service" / "fixtures" / "mediapipe_reference.json"
FULL_RANGE_FIXTURE = ROOT / "tests" / "ml_service" / "fixtures" / "mediapipe_full_range.json"
RUNNER = ROOT / "scripts" / "ml" / "mediapipe_runner.py"


def main() -> None:
    cache = MLSettings().resolved_cache_dir
    python = venvs.python_of(venvs.ensure_venv(name="mediapipe", cache_dir=cache))
    hashes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for image in IMAGES:
            base = load_bgr(image)
            for variant, make in VARIANTS.items():
                pixels = make(base)
                hashes[key(image, variant)] = hashlib.sha256(pixels.tobytes()).hexdigest()
                cv2.imwrite(str(Path(tmp) / f"{key(image, variant)}.png"), pixels)
        out = Path(tmp) / "reference.json"
        subprocess.run([str(python), str(RUNNER), "reference", tmp, str(out)], check=True)
        reference = json.loads(out.read_text())
    for name, entry in reference.items():
        entry["sha256"] = hashes[name]
    payload = {"mediapipe": "0.10.21", "results": reference}
    FIXTURE.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size // 1024} KiB, {len(reference)} images)")
    full_range(python)


def full_range(python: Path) -> None:
    hashes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for image in NAMES:
            base = load_bgr(image)
            for variant, make in VARIANTS.items():
                pixels = make(base)
                hashes[key(image, variant)] = hashlib.sha256(pixels.tobytes()).hexdigest()
                cv2.imwrite(str(Path(tmp) / f"{key(image, variant)}.png"), pixels)
        out = Path(tmp) / "full_range.json"
        subprocess.run([str(python), str(RUNNER), "full_range", tmp, str(out)], check=True)
        reference = json.loads(out.read_text())
    for name, entry in reference.items():
        entry["sha256"] = hashes[name]
    payload = {"mediapipe": "0.10.21", "model_selection": 1, "results": reference}
    FULL_RANGE_FIXTURE.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    size = FULL_RANGE_FIXTURE.stat().st_size // 1024
    print(f"wrote {FULL_RANGE_FIXTURE} ({size} KiB, {len(reference)} images)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--full-range"]:
        full_range(
            venvs.python_of(
                venvs.ensure_venv(name="mediapipe", cache_dir=MLSettings().resolved_cache_dir)
            )
        )
    else:
        main()
