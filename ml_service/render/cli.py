"""``tryon render``: a product on a photo (or a video), with the geometry as JSON.

Errors go to stderr as one line with a non-zero exit code; no tracebacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import cv2
import typer

from ml_service.errors import MLError

MAX_PRODUCT_BYTES = 15 * 1024 * 1024


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def render(
    *,
    product_image: Annotated[
        Path, typer.Option("--product-image", help="Product packshot (PNG/JPEG/WebP)")
    ],
    category: Annotated[str, typer.Option(help="eyewear, hat, earrings, necklace or top")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the result")],
    photo: Annotated[Path | None, typer.Option(help="The shopper's photo")] = None,
    video: Annotated[Path | None, typer.Option(help="A video to render instead of a photo")] = None,
    frame_width_mm: Annotated[
        float | None, typer.Option(help="Eyewear frame width in millimetres")
    ] = None,
    width_mm: Annotated[
        float | None, typer.Option(help="Real size of other products (earrings: drop length)")
    ] = None,
    anchors: Annotated[
        str | None, typer.Option(help='Anchor overrides as JSON: {"name": [x, y], ...}')
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the geometry used as JSON")
    ] = False,
) -> None:
    """Render a product on a photo (or every frame of a video) and write the result."""
    from ml_service.assets import prepare_asset  # noqa: PLC0415 - heavy imports per command
    from ml_service.image_io import read_image_file  # noqa: PLC0415
    from ml_service.perception import Perceiver  # noqa: PLC0415
    from ml_service.render import RenderOptions, render_video  # noqa: PLC0415
    from ml_service.render.api import ProductRenderer  # noqa: PLC0415

    if (photo is None) == (video is None):
        raise _fail("give exactly one of --photo or --video", 2)
    overrides = _parse_anchors(anchors)
    try:
        data = _read_bounded(product_image)
        asset = prepare_asset(
            data, category, anchors=overrides, frame_width_mm=frame_width_mm, width_mm=width_mm
        )
        renderer = ProductRenderer(asset)
        with Perceiver.from_settings() as perceiver:
            if video is not None:
                if not video.is_file():
                    raise _fail(f"no such video: {video}", 2)
                tracker = perceiver.tracker(max_faces=1, bodies=renderer.needs_bodies)
                summary = render_video(
                    video, output, asset, tracker, options=RenderOptions(max_faces=1)
                )
                out: dict[str, Any] = {
                    "output": str(output),
                    "frames": summary.frames,
                    "rendered": summary.rendered,
                    "fps": summary.fps,
                }
            else:
                assert photo is not None
                image = read_image_file(photo)
                analysis = perceiver.analyze(image, bodies=renderer.needs_bodies)
                result = renderer.render(image, analysis)
                if not cv2.imwrite(str(output), result.image):
                    raise _fail(f"cannot write {output} (unknown extension or folder?)", 2)
                out = {"output": str(output), **result.geometry}
    except MLError as exc:
        reason = getattr(exc, "reason", None)
        raise _fail(f"{exc}" + (f" [{reason}]" if reason else "")) from None
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(str(output))


def _parse_anchors(raw: str | None) -> dict[str, list[float]] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise _fail("--anchors must be a JSON object", 2) from None
    if not isinstance(value, dict):
        raise _fail("--anchors must be a JSON object", 2)
    return value


def _read_bounded(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise _fail(f"no such product image: {path}", 2)
        if path.stat().st_size > MAX_PRODUCT_BYTES:
            raise _fail(f"the product image is over {MAX_PRODUCT_BYTES} bytes", 2)
        return path.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror or exc}", 2) from None
