"""Profile the gateway under load: py-spy samples a ``tryon serve`` process while wrk (or the
live WebSocket client) drives one request kind, and writes a flame graph (SVG).

    .venv/bin/python scripts/gateway/profile.py --part config --mode embedded \
        --out docs/images/profile-config.svg [--seconds 8] [--connections 16]

Parts: ``config`` (``GET /v1/widget/config``), ``photo`` (``POST /v1/widget/tryon``, one
connection unless told), ``live`` (8 live sessions). Uses the benchmark's set-up
(``scripts/gateway/bench.py``): same server, same shop, same image.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # this folder is on the path now

PY_SPY = Path(sys.executable).with_name("py-spy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("config", "photo", "live"), default="config")
    parser.add_argument("--mode", choices=("embedded", "scaleout"), default="embedded")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=0, help="0: 16 (config), 1 (photo)")
    parser.add_argument("--out", type=Path, required=True, help="flame graph SVG to write")
    parser.add_argument(
        "--format", choices=("flamegraph", "raw"), default="flamegraph", help="raw: folded stacks"
    )
    args = parser.parse_args()
    if not PY_SPY.exists() or shutil.which("wrk") is None:
        print("needs py-spy (uv sync --extra dev) and wrk (make wrk)", file=sys.stderr)
        return 2
    frame = bench.selfie()
    data_dir = tempfile.mkdtemp(prefix="tryon-profile-")
    env = {
        "TRYON_DATA_DIR": data_dir,
        "TRYON_RATE_LIMIT_PER_KEY": "100000000",
        "TRYON_RATE_LIMIT_PER_IP": "100000000",
        "TRYON_WS_MAX_PER_IP": "64",
    }
    stack: Any = bench.postgres_database() if args.mode == "scaleout" else None
    try:
        if stack is not None:
            env["TRYON_DATABASE_URL"] = stack.__enter__()
            env["TRYON_REDIS_URL"] = bench.REDIS
            env["TRYON_REDIS_PREFIX"] = f"tryon_profile_{uuid.uuid4().hex[:8]}:"
        with bench.gateway(env) as (url, pid, full_env), tempfile.TemporaryDirectory() as tmp:
            keys = bench.set_up_shop(url, full_env)
            headers = {"Authorization": f"Bearer {keys['pk']}", "Origin": bench.ORIGIN}
            spy = subprocess.Popen(
                [
                    str(PY_SPY),
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(args.seconds),
                    "--rate",
                    "250",
                    "--threads",
                    "--output",
                    str(args.out),
                    "--format",
                    args.format,
                ],
                stdout=subprocess.DEVNULL,
            )
            if args.part == "config":
                result = bench.wrk(
                    url + "/v1/widget/config?product=round-black",
                    seconds=args.seconds,
                    connections=args.connections or 16,
                    headers=headers,
                )
            elif args.part == "photo":
                photo = Path(tmp) / "photo.jpg"
                photo.write_bytes(frame)
                result = bench.wrk(
                    url + "/v1/widget/tryon?product=round-black",
                    seconds=args.seconds,
                    connections=args.connections or 1,
                    method="POST",
                    headers={**headers, "Content-Type": "image/jpeg", "Accept": "image/jpeg"},
                    body_file=str(photo),
                )
            else:
                result = asyncio.run(bench.live_sessions(url, keys["pk"], 8, args.seconds, frame))
            spy.wait(args.seconds + 60)
            print(result)
    finally:
        if stack is not None:
            stack.__exit__(None, None, None)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"flame graph: {args.out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TRYON_LOG_LEVEL", "WARNING")
    raise SystemExit(main())
