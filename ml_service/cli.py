"""``tryon models ...`` and ``tryon analyze``: the ML service's commands (registered by gateway).

Errors go to stderr as one line with a non-zero exit code; no tracebacks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ml_service.errors import MLError
from ml_service.settings import MLSettings

models_app = typer.Typer(help="Perception models: build and inspect.", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _settings() -> MLSettings:
    try:
        return MLSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _fail(f"bad ML configuration ({where}): {first['msg']}", 2) from None


@models_app.command("build")
def models_build(
    force: Annotated[bool, typer.Option(help="Rebuild even when a verified build exists")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Fetch MediaPipe's models, convert them to ONNX, write the Triton repository."""
    from ml_service.models import build  # noqa: PLC0415 - only this command needs it

    settings = _settings()
    try:
        root = build.build(cache_dir=settings.resolved_cache_dir, force=force, progress=progress)
    except MLError as exc:
        raise _fail(str(exc)) from None
    typer.echo(str(root))


@models_app.command("path")
def models_path() -> None:
    """Print the directory the runtime loads models from (built or not)."""
    from ml_service.models import store  # noqa: PLC0415

    typer.echo(str(store.models_dir(_settings())))


def analyze(
    images: Annotated[list[Path], typer.Argument(help="Image files (JPEG, PNG, WebP)")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
    body: Annotated[bool, typer.Option(help="Run body pose and the person mask")] = True,
    face: Annotated[bool, typer.Option(help="Run face detection and landmarks")] = True,
) -> None:
    """Analyse images: faces (landmarks, iris, head pose, pupil distance) and body pose."""
    from ml_service.image_io import read_image_file_reduced  # noqa: PLC0415
    from ml_service.perception import Perceiver  # noqa: PLC0415
    from ml_service.perception.rescale import to_full_image  # noqa: PLC0415
    from ml_service.serialize import analysis_to_json  # noqa: PLC0415

    settings = _settings()
    try:
        perceiver = Perceiver.from_settings(settings)
    except MLError as exc:
        raise _fail(str(exc)) from None
    failed = False
    with perceiver:
        for path in images:
            try:
                # A large JPEG is decoded reduced (settings.decode_min_side); the results
                # are mapped back, so coordinates stay in pixels of the input image.
                decoded = read_image_file_reduced(
                    path, min_side=settings.decode_min_side, max_pixels=settings.max_image_pixels
                )
                analysis = to_full_image(
                    perceiver.analyze(decoded.pixels, faces=face, bodies=body),
                    scale=decoded.scale,
                    width=decoded.width,
                    height=decoded.height,
                )
            except MLError as exc:
                typer.secho(f"error: {path}: {exc}", err=True, fg=typer.colors.RED)
                failed = True
                continue
            out: dict[str, Any] = {"image": str(path), **analysis_to_json(analysis)}
            if as_json:
                sys.stdout.write(json.dumps(out) + "\n")
            else:
                typer.echo(_summary(out))
    if failed:
        raise typer.Exit(1)


def _summary(out: dict[str, Any]) -> str:
    faces = ", ".join(
        f"face {f['score']:.2f} yaw {f['head_pose']['yaw']:.0f} ipd {f['ipd_mm']:.1f} mm"
        for f in out["faces"]
    )
    return (
        f"{out['image']}: {out['width']}x{out['height']}, {len(out['faces'])} face(s)"
        f"{': ' + faces if faces else ''}; {len(out['bodies'])} body(ies)"
    )
