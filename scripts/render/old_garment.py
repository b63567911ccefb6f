"""The "old garment visible" measure (testkit/old_garment.py) for every top on the test
photos; ``--ref REV`` also measures revision REV's renderer (its ``ml_service`` exported to a
temporary folder, run in a subprocess) and prints both side by side."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOPS = ("tshirt-navy", "tshirt-striped")


def run() -> dict[str, list[object]]:
    """Measure with whatever ``ml_service`` is first on the path (see ``main``)."""
    from ml_service.perception import Perceiver  # noqa: PLC0415
    from testkit.old_garment import PHOTOS, measure  # noqa: PLC0415
    from testkit.render_photos import load_photo  # noqa: PLC0415

    out: dict[str, list[object]] = {}
    with Perceiver.from_settings() as perceiver:
        for photo in PHOTOS:
            image = load_photo(photo)
            for product in TOPS:
                data = (ROOT / "ml_service/demo_assets" / f"{product}.png").read_bytes()
                v = measure(perceiver, photo, image, product, data)
                out[f"{photo} {product}"] = [v.old_px, v.zone_px, v.reason]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", help="a git revision to compare with (e.g. main)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:  # in the subprocess: PYTHONPATH puts the revision's ml_service first
        print(json.dumps(run()))
        return
    sys.path.insert(0, str(ROOT))
    after = run()
    before: dict[str, list[object]] = {}
    if args.ref:
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.ref, "ml_service"],
                                     check=True, capture_output=True).stdout  # fmt: skip
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            env = {**os.environ, "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}"}
            done = subprocess.run([sys.executable, "-P", __file__, "--json"], env=env,
                                  check=True, capture_output=True, text=True)  # fmt: skip
            before = json.loads(done.stdout.strip().splitlines()[-1])
    print("old garment visible: old-clothes pixels left unchanged around the new garment")
    print(f"  {'photo and top':34s} {'before (' + (args.ref or '-') + ')':>22s} {'after':>22s}")
    for key, (old, zone, reason) in after.items():
        b = before.get(key)
        print(f"  {key:34s} {_cell(b):>22s} {_cell([old, zone, reason]):>22s}")


def _cell(v: list[object] | None) -> str:
    if v is None:
        return "-"
    old, zone, reason = v
    if old is None:
        return f"refused ({reason})"
    share = 100.0 * int(old) / max(int(zone), 1)  # type: ignore[call-overload]
    return f"{old} px ({share:4.1f} %)"


if __name__ == "__main__":
    main()
