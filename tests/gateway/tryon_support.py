"""Helpers for try-on tests: real photos, the project's demo products, a merchant set up."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from gateway.keys.service import NewMerchant
from testkit.images import test_image
from tests.gateway.conftest import auth, merchant_in

DEMO_ASSETS = Path(__file__).resolve().parents[2] / "ml_service" / "demo_assets"


@functools.cache
def selfie_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A real face photo (scikit-image's astronaut) as a 640x480 JPEG."""
    image = cv2.imread(str(test_image("astronaut")))
    crop = image[0:384, 0:512]  # head and shoulders, 4:3
    resized = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", resized, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(buf)


def no_face_jpeg() -> bytes:
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def demo_product_image(name: str = "glasses-round-black") -> bytes:
    return (DEMO_ASSETS / f"{name}.png").read_bytes()


@dataclass
class Shop:
    merchant: NewMerchant
    product: dict[str, Any]
    asset: dict[str, Any]


def eyewear_shop(client: TestClient, name: str = "Shop", external_id: str = "round-black") -> Shop:
    """A merchant with one eyewear product (two sizes) and its prepared try-on asset."""
    m = merchant_in(client, name)
    product = client.post(
        "/v1/products",
        json={
            "external_id": external_id,
            "title": "Round, black",
            "category": "eyewear",
            "variants": [
                {
                    "external_id": "s",
                    "title": "Small",
                    "size": "S",
                    "measurements": {"frame_width_mm": 128},
                },
                {
                    "external_id": "l",
                    "title": "Large",
                    "size": "L",
                    "measurements": {"frame_width_mm": 146},
                },
            ],
        },
        headers=auth(m.secret_key),
    )
    assert product.status_code == 201, product.text
    asset = client.post(
        f"/v1/products/{product.json()['id']}/assets",
        params={"width_mm": 132},
        content=demo_product_image(),
        headers={**auth(m.secret_key), "content-type": "image/png"},
    )
    assert asset.status_code == 201, asset.text
    return Shop(merchant=m, product=product.json(), asset=asset.json())
