"""Time one revision's perception pipeline on request (driven by compare_revisions.py).

Run with the working directory at the root of a checkout of any revision of this project: it
imports *that* revision's ``ml_service`` (and its models, found by that revision's build key)
and answers JSON lines on stdin, one JSON line on stdout each:

  {"op": "load", "dir": DIR}                              read DIR/*.png as BGR frames
  {"op": "run", "mode": M, "size": S, "frames": [names]}  process the frames in order, each timed

Modes: photo_mesh, photo_face, photo_body, photo_all (``Perceiver.analyze``), track_face,
track_face_every_frame (``Perceiver.tracker()``; revisions without a reduced iris rate run
the iris model on every frame anyway). One tracker per mode and frame size persists across
requests, as in a live stream.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.getcwd())

import cv2

from ml_service.perception import Perceiver
from ml_service.settings import MLSettings

PHOTO = {
    "photo_mesh": {"bodies": False, "iris_landmarks": False},
    "photo_face": {"bodies": False},
    "photo_body": {"faces": False},
    "photo_all": {},
}


def main() -> None:
    perceiver = Perceiver.from_settings(MLSettings(threads=1))
    reduced_iris = "iris_every" in Perceiver.tracker.__code__.co_varnames
    tracking = {
        "track_face": {},
        "track_face_every_frame": {"iris_every": 1} if reduced_iris else {},
    }
    images: dict[str, Any] = {}
    trackers: dict[tuple[str, str], Any] = {}
    steps: dict[tuple[str, str], int] = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "load":
            for name in sorted(os.listdir(request["dir"])):
                images[name.rsplit(".", 1)[0]] = cv2.imread(os.path.join(request["dir"], name))
            answer: dict[str, Any] = {"loaded": len(images)}
        else:
            mode, key = request["mode"], (request["mode"], request["size"])
            samples = []
            for name in request["frames"]:
                step = steps.get(key, 0)
                steps[key] = step + 1
                start = time.perf_counter()
                if mode in PHOTO:
                    perceiver.analyze(images[name], **PHOTO[mode])
                else:
                    if key not in trackers:
                        trackers[key] = perceiver.tracker(**tracking[mode])
                    trackers[key].process(images[name], step / 30)
                samples.append((time.perf_counter() - start) * 1000.0)
            answer = {"samples": samples}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
