"""The ML facade: one test suite, run against the in-process engine and the HTTP client."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from ml_service.engine import (
    LocalEngine,
    SizeOption,
    TryOnEngine,
    analysis_from_json,
    analysis_to_json,
    recommend_size,
)
from ml_service.errors import InvalidImage
from ml_service.render.errors import AssetRefused, AssetUnreadable, CannotRender
from tests.gateway.tryon_support import DEMO_ASSETS, selfie_jpeg
from tests.support.ml_server import ml_server


@pytest.fixture(scope="module")
def local() -> LocalEngine:
    return LocalEngine()


@pytest.fixture(scope="module")
def served(local: LocalEngine) -> Iterator[str]:
    with ml_server(local) as url:
        yield url


@pytest.fixture(params=["local", "http"])
def engine(request: pytest.FixtureRequest, local: LocalEngine) -> Iterator[TryOnEngine]:
    if request.param == "local":
        yield local
        return
    from ml_service.client import MLClient

    client = MLClient(request.getfixturevalue("served"), timeout_s=30)
    yield client
    client.close()


def selfie() -> NDArray[np.uint8]:
    return cv2.imdecode(np.frombuffer(selfie_jpeg(), np.uint8), cv2.IMREAD_COLOR)


def product(name: str = "glasses-round-black") -> bytes:
    return (DEMO_ASSETS / f"{name}.png").read_bytes()


SIZES = (
    SizeOption(variant_id="s", size="S", measurements={"frame_width_mm": 128}),
    SizeOption(variant_id="l", size="L", measurements={"frame_width_mm": 146}),
)


def test_analyze_finds_the_face(engine: TryOnEngine) -> None:
    analysis = engine.analyze(selfie())
    assert (analysis.width, analysis.height) == (640, 480)
    assert len(analysis.faces) == 1
    face = analysis.faces[0]
    assert face.landmarks.shape == (468, 3)
    assert 50 < face.ipd_mm < 80


def test_the_http_engine_sees_what_the_local_engine_sees(served: str, local: LocalEngine) -> None:
    """Over the wire (serialisation, the service, the client) nothing changes the analysis.

    (Parametrised over both engines, this compared ``LocalEngine`` with itself.)"""
    from ml_service.client import MLClient

    client = MLClient(served, timeout_s=30)
    try:
        remote = client.analyze(selfie()).faces[0]
    finally:
        client.close()
    reference = local.analyze(selfie()).faces[0]
    assert remote is not reference
    np.testing.assert_allclose(remote.landmarks[:, :2], reference.landmarks[:, :2], atol=0.02)
    np.testing.assert_allclose(remote.iris_left, reference.iris_left, atol=0.02)
    np.testing.assert_allclose(remote.iris_right, reference.iris_right, atol=0.02)
    assert remote.ipd_mm == pytest.approx(reference.ipd_mm, abs=0.5)


def test_prepare_asset_is_deterministic(engine: TryOnEngine, local: LocalEngine) -> None:
    asset = engine.prepare_asset(product(), "eyewear", width_mm=132)
    assert asset.category == "eyewear"
    assert asset.width_mm == 132
    assert (
        asset.content_hash == local.prepare_asset(product(), "eyewear", width_mm=132).content_hash
    )
    moved = engine.prepare_asset(
        product(), "eyewear", width_mm=132, anchors={"bridge": (200.0, 100.0)}
    )
    assert moved.content_hash != asset.content_hash


def test_render_matches_between_implementations(engine: TryOnEngine, local: LocalEngine) -> None:
    asset = local.prepare_asset(product(), "eyewear", width_mm=132)
    rendered = engine.render(selfie(), asset, size_options=SIZES)
    reference = local.render(selfie(), asset, size_options=SIZES)
    assert rendered.image.shape == (480, 640, 3)
    assert np.abs(rendered.image.astype(int) - reference.image.astype(int)).max() <= 1
    assert (
        rendered.geometry["faces"][0]["lens_centres"]
        == reference.geometry["faces"][0]["lens_centres"]
    )
    assert rendered.size_recommendation == reference.size_recommendation
    assert rendered.size_recommendation is not None
    assert rendered.size_recommendation["variant_id"] in {"s", "l"}
    assert not np.array_equal(rendered.image, selfie())


def test_render_with_a_known_analysis(engine: TryOnEngine, local: LocalEngine) -> None:
    asset = local.prepare_asset(product(), "eyewear", width_mm=132)
    analysis = analysis_from_json(analysis_to_json(local.analyze(selfie())))
    rendered = engine.render(selfie(), asset, analysis=analysis)
    assert len(rendered.geometry["faces"]) == 1


def test_recommend_size(engine: TryOnEngine, local: LocalEngine) -> None:
    analysis = local.analyze(selfie())
    advice = engine.recommend_size(analysis, category="eyewear", options=SIZES)
    assert advice == local.recommend_size(analysis, category="eyewear", options=SIZES)
    assert advice is not None
    assert engine.recommend_size(analysis, category="hat", options=SIZES) is None
    assert engine.recommend_size(analysis, category="eyewear", options=()) is None


@pytest.mark.parametrize("output", ["render", "geometry"])
def test_live_session(engine: TryOnEngine, local: LocalEngine, output: str) -> None:
    asset = local.prepare_asset(product(), "eyewear", width_mm=132)
    session = engine.live_session(asset, output=output)  # type: ignore[arg-type]
    try:
        for _ in range(3):
            frame = session.process(selfie())
            assert len(frame.geometry["faces"]) == 1
            if output == "render":
                assert frame.image is not None
                assert frame.image.shape == (480, 640, 3)
            else:
                assert frame.image is None
    finally:
        session.close()


def test_no_face_cannot_render(engine: TryOnEngine, local: LocalEngine) -> None:
    asset = local.prepare_asset(product(), "eyewear", width_mm=132)
    blank = np.full((240, 320, 3), 127, np.uint8)
    with pytest.raises(CannotRender) as refused:
        engine.render(blank, asset)
    assert refused.value.reason == "no-face"


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (b"", AssetUnreadable, "empty"),
        (b"GIF89a" + b"\0" * 64, AssetUnreadable, "unsupported-type"),
        (selfie_jpeg(), AssetRefused, None),
    ],
)
def test_unusable_product_images(
    engine: TryOnEngine, data: bytes, error: type[Exception], reason: str | None
) -> None:
    with pytest.raises(error) as refused:
        engine.prepare_asset(data, "eyewear")
    if reason is not None:
        assert refused.value.reason == reason  # type: ignore[attr-defined]


def test_unknown_category(engine: TryOnEngine) -> None:
    with pytest.raises(AssetRefused):
        engine.prepare_asset(product(), "spaceship")


def test_bad_pixels_are_invalid_images(engine: TryOnEngine) -> None:
    with pytest.raises(InvalidImage):
        engine.analyze(np.zeros((0, 0, 3), np.uint8))


def test_size_advice_names_a_size_never_a_colour(local: LocalEngine) -> None:
    """Colours of a one-size product are no sizes: without a size there is no advice (the
    widget once showed "We recommend size Gold"), and unsized options are never picked."""
    analysis = local.analyze(selfie())
    colours = (
        SizeOption(variant_id="black", size=None, measurements={"frame_width_mm": 132}),
        SizeOption(variant_id="gold", size="", measurements={"frame_width_mm": 134}),
    )
    assert recommend_size(analysis, category="eyewear", options=colours) is None
    advice = recommend_size(analysis, category="eyewear", options=colours + SIZES)
    assert advice is not None
    assert (advice["variant_id"], advice["size"]) in {("s", "S"), ("l", "L")}
