"""The 3D path: glTF binaries (ours and pygltflib's, hostile ones), the rasteriser, photo
matching, packshot-to-3D eyewear and revolved hats on synthetic faces."""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pygltflib
import pytest

from ml_service.assets import prepare_asset
from ml_service.assets.glb import eyewear_from_glb, read_glb
from ml_service.assets.model3d import eyewear_front, is_metal
from ml_service.render import RenderOptions, render
from ml_service.render.errors import AssetRefused
from ml_service.render.materials import photo_look
from ml_service.render.mesh import Material, Part
from ml_service.render.raster import rasterise
from ml_service.types import Analysis
from tests.ml_service.render.synthetic import make_face

DEMO = Path(__file__).resolve().parents[3] / "ml_service" / "demo_assets"
GLASSES = DEMO / "glasses-round-gold.glb"


def _scene(faces, size=(640, 480), colour=150):
    img = np.full((size[1], size[0], 3), colour, np.uint8)
    return img, Analysis(width=size[0], height=size[1], faces=list(faces))


# --- glTF binaries ----------------------------------------------------------------------------


def test_our_glb_reads_back_and_pygltflib_agrees() -> None:
    data = GLASSES.read_bytes()
    mesh = read_glb(data, category="eyewear")
    peer = pygltflib.GLTF2.load_from_bytes(data)
    peer_vertices = sum(
        peer.accessors[p.attributes.POSITION].count for m in peer.meshes for p in m.primitives
    )
    peer_triangles = sum(
        peer.accessors[p.indices].count // 3 for m in peer.meshes for p in m.primitives
    )
    assert len(mesh.vertices) == peer_vertices
    assert len(mesh.triangles) == peer_triangles
    names = {m.name for m in peer.meshes}
    assert {"frame", "lens", "temple_left", "temple_right"} <= names
    assert (mesh.material == Material.METAL).any()
    assert (mesh.material == Material.LENS).any()
    # Real size: the front is the frame's width in millimetres.
    front = eyewear_from_glb(data)
    used = np.unique(front.triangles[front.part != Part.TEMPLE])
    assert float(np.ptp(front.vertices[used, 0])) == pytest.approx(134.0, rel=0.05)


def _peer_triangle(scale: float = 0.07, *, uri: str | None = None) -> bytes:
    """A glb written by pygltflib: one triangle (metres), optionally an external buffer."""
    points = np.array([[-scale, 0, 0], [scale, 0, 0], [0, 0.03, 0]], np.float32)
    indices = np.array([0, 1, 2], np.uint32)
    blob = indices.tobytes() + points.tobytes()
    gltf = pygltflib.GLTF2(
        scene=0,
        scenes=[pygltflib.Scene(nodes=[0])],
        nodes=[pygltflib.Node(mesh=0, name="front")],
        meshes=[
            pygltflib.Mesh(
                primitives=[
                    pygltflib.Primitive(attributes=pygltflib.Attributes(POSITION=1), indices=0)
                ]
            )
        ],
        accessors=[
            pygltflib.Accessor(
                bufferView=0, componentType=pygltflib.UNSIGNED_INT, count=3, type=pygltflib.SCALAR
            ),
            pygltflib.Accessor(
                bufferView=1,
                componentType=pygltflib.FLOAT,
                count=3,
                type=pygltflib.VEC3,
                max=points.max(axis=0).tolist(),
                min=points.min(axis=0).tolist(),
            ),
        ],
        bufferViews=[
            pygltflib.BufferView(buffer=0, byteLength=len(indices.tobytes())),
            pygltflib.BufferView(buffer=0, byteOffset=12, byteLength=len(points.tobytes())),
        ],
        buffers=[pygltflib.Buffer(byteLength=len(blob), uri=uri)],
    )
    gltf.set_binary_blob(blob)
    return b"".join(gltf.save_to_bytes())


def test_a_glb_written_by_pygltflib_reads() -> None:
    mesh = read_glb(_peer_triangle(), category="eyewear")
    assert len(mesh.triangles) == 1
    # glTF's +y up becomes our y down, metres become millimetres.
    assert mesh.vertices[:, 0].max() == pytest.approx(70.0)
    assert mesh.vertices[:, 1].min() == pytest.approx(-30.0)


def _tamper(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    json_len = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20 : 20 + json_len])
    edit(doc)
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    rest = data[20 + json_len :]
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + rest
    return struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body


def _set(path: list[object], value: object):  # type: ignore[no-untyped-def]
    def edit(doc: dict) -> None:  # type: ignore[type-arg]
        node = doc
        for key in path[:-1]:
            node = node[key]  # type: ignore[index]
        node[path[-1]] = value  # type: ignore[index]

    return edit


@pytest.mark.parametrize(
    "make",
    [
        lambda d: d[:40],  # truncated
        lambda d: b"glTX" + d[4:],  # bad magic
        lambda d: d[:8] + struct.pack("<I", len(d) + 4) + d[12:],  # forged length
        lambda d: d[:4] + struct.pack("<I", 1) + d[8:],  # glTF 1
        lambda d: d + b"\0" * (13 * 1024 * 1024),  # oversized
        lambda d: _tamper(d, _set(["accessors", 0, "count"], 10**9)),  # huge count
        lambda d: _tamper(d, _set(["accessors", 1, "count"], 400)),  # past its buffer view
        lambda d: _tamper(d, _set(["bufferViews", 1, "byteOffset"], 10**6)),  # past the binary
        lambda d: _tamper(d, _set(["buffers", 0, "uri"], "http://example.invalid/x.bin")),
        lambda d: _tamper(d, _set(["meshes", 0, "primitives", 0, "indices"], 1)),  # VEC3 as indices
        lambda d: _tamper(d, _set(["nodes", 0, "mesh"], 5)),  # missing mesh
        lambda d: _tamper(d, _set(["scenes", 0, "nodes"], [0, 0, 7])),  # missing node
        lambda d: _tamper(d, _set(["nodes", 0, "scale"], [1e6, 1e6, 1e6])),  # not glasses-sized
        lambda d: _tamper(d, _set(["nodes", 0, "translation"], ["x", 0, 0])),
    ],
)
def test_hostile_glb_files_are_refused_with_a_reason(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AssetRefused) as info:
        eyewear_from_glb(make(_peer_triangle()))
    assert info.value.reason == "bad-model"


def test_out_of_range_indices_and_nan_positions_are_refused() -> None:
    base = _peer_triangle()
    json_len = struct.unpack_from("<I", base, 12)[0]
    blob_at = 20 + json_len + 8
    bad_index = base[:blob_at] + struct.pack("<I", 99) + base[blob_at + 4 :]
    nan = base[: blob_at + 12] + struct.pack("<f", float("nan")) + base[blob_at + 16 :]
    for data in (bad_index, nan):
        with pytest.raises(AssetRefused) as info:
            read_glb(data, category="eyewear")
        assert info.value.reason == "bad-model"


def test_a_glb_becomes_an_asset_that_carries_it_and_renders_in_3d() -> None:
    data = GLASSES.read_bytes()
    asset = prepare_asset(data, "eyewear")
    assert asset.model == data
    assert asset.width_mm == pytest.approx(134.0, rel=0.05)
    assert len(asset.lenses) == 2
    face = make_face(ipd_px=90)
    img, analysis = _scene([face])
    geo = render(img, analysis, asset).geometry["faces"][0]
    assert geo["model"] == "glb"
    assert geo["drawn"]
    with pytest.raises(AssetRefused) as info:
        prepare_asset(data, "top")
    assert info.value.reason == "model-category"


# --- rasteriser -------------------------------------------------------------------------------


def test_rasteriser_covers_a_triangle_and_keeps_the_nearest() -> None:
    xy = np.array([[10, 10], [90, 10], [10, 90], [0, 0], [99, 0], [0, 99]], np.float64)
    depth = np.array([5.0, 5.0, 5.0, 9.0, 9.0, 9.0])
    tris = np.array([[0, 1, 2], [3, 4, 5]], np.int32)
    frags = rasterise(xy, depth, tris, (100, 100))
    near = frags.triangle == 0
    # Pixel centres inside the near triangle (area 3200) show it; the far one elsewhere.
    assert abs(int(near.sum()) - 3200) < 120
    assert (frags.triangle[(frags.triangle >= 0) & ~near] == 1).all()
    assert np.allclose(frags.depth[near], 5.0)
    assert np.allclose(frags.weights[near].sum(axis=1), 1.0, atol=1e-5)
    # Drawn in the other order, the same winner.
    again = rasterise(xy, depth, tris[::-1].copy(), (100, 100))
    assert ((again.triangle == 1) == near).all()


def test_rasteriser_clips_and_ignores_degenerate_and_behind_camera_triangles() -> None:
    xy = np.array([[-50, -50], [500, -50], [-50, 500], [5, 5], [5, 5], [6, 6]], np.float64)
    depth = np.array([3.0, 3.0, 3.0, 3.0, -1.0, 3.0])
    frags = rasterise(xy, depth, np.array([[0, 1, 2], [3, 4, 5]], np.int32), (20, 30))
    assert (frags.triangle == 0).all()


# --- photo matching ---------------------------------------------------------------------------


def test_photo_look_measures_grey_noise_and_blur() -> None:
    rng = np.random.default_rng(1)
    base = np.full((120, 160, 3), 128.0)
    base[:, 80:] = 60.0  # an edge, for the blur measure
    noisy = np.clip(base + rng.normal(0, 6, base.shape[:2])[:, :, None], 0, 255).astype(np.uint8)
    look = photo_look(noisy, (0, 0, 160, 120))
    assert look.grey
    assert look.noise * 255 == pytest.approx(6.0, rel=0.35)
    import cv2

    sharp = photo_look(base.astype(np.uint8), (0, 0, 160, 120)).blur
    soft = photo_look(cv2.GaussianBlur(base.astype(np.uint8), (0, 0), 2.5), (0, 0, 160, 120)).blur
    assert soft > sharp + 1.0
    colour = base.copy()
    colour[..., 2] += 40
    assert not photo_look(colour.astype(np.uint8), (0, 0, 160, 120)).grey


def test_black_and_white_photo_gets_a_black_and_white_product() -> None:
    asset = prepare_asset((DEMO / "glasses-cateye-red.png").read_bytes(), "eyewear")
    face = make_face(ipd_px=90)
    img, analysis = _scene([face])
    out = render(img, analysis, asset).image.astype(int)
    spread = np.abs(out[..., 2] - out[..., 1]).max()
    assert spread <= 2  # red frames, grey photo: grey frames
    plain = render(img, analysis, asset, RenderOptions(match_colour=False)).image.astype(int)
    assert np.abs(plain[..., 2] - plain[..., 1]).max() > 40


# --- models made from packshots ---------------------------------------------------------------


def test_packshot_front_has_real_thickness_and_separate_lenses() -> None:
    asset = prepare_asset(
        (DEMO / "glasses-rect-tortoise.png").read_bytes(), "eyewear", frame_width_mm=140
    )
    mesh = eyewear_front(asset)
    front = np.unique(mesh.triangles[mesh.part == Part.FRONT])
    lens = np.unique(mesh.triangles[mesh.part == Part.LENS])
    assert float(np.ptp(mesh.vertices[front, 2])) == pytest.approx(5.0, abs=0.2)  # acetate
    assert float(np.ptp(mesh.vertices[front, 0])) == pytest.approx(140.0, rel=0.03)
    assert len(lens) > 0
    assert not is_metal(asset)
    gold = prepare_asset((DEMO / "glasses-round-gold.png").read_bytes(), "eyewear")
    assert is_metal(gold)


def test_far_temple_hides_behind_the_head_per_pixel() -> None:
    asset = prepare_asset((DEMO / "glasses-rect-tortoise.png").read_bytes(), "eyewear")
    img, analysis = _scene([make_face(yaw=40, ipd_px=90)])
    near, far = render(img, analysis, asset).geometry["faces"][0]["temples_visible"]
    assert near > 0.8
    assert far < 0.5


def test_hat_sits_on_the_head_above_the_eyes() -> None:
    hat = prepare_asset((DEMO / "hat-fedora.png").read_bytes(), "hat")
    glb = replace(hat, model=(DEMO / "hat-fedora.glb").read_bytes())
    face = make_face(ipd_px=80, centre=(320, 300))
    img, analysis = _scene([face])
    for asset in (hat, glb):
        result = render(img, analysis, asset, RenderOptions(shadow=False))
        changed = np.abs(result.image.astype(int) - img).max(axis=2) > 10
        eyes_y = int(min(face.iris_left[1], face.iris_right[1]))
        assert changed[: eyes_y - 10].sum() > 2000  # drawn above the eyes
        assert not changed[eyes_y - 3 : eyes_y + 3, 280:360].any()  # the eyes stay clear
        assert result.geometry["faces"][0]["drawn"]


def _textured_triangle(png: bytes) -> bytes:
    """A pygltflib glb: one triangle with a base-colour texture (embedded PNG)."""
    points = np.array([[-0.07, 0, 0], [0.07, 0, 0], [0, 0.03, 0]], np.float32)
    uv = np.array([[0, 0], [1, 0], [0.5, 1]], np.float32)
    indices = np.array([0, 1, 2], np.uint32)
    parts = [indices.tobytes(), points.tobytes(), uv.tobytes(), png]
    offsets = np.cumsum([0] + [len(p) + (-len(p) % 4) for p in parts])
    blob = b"".join(p + b"\0" * (-len(p) % 4) for p in parts)
    views = [
        pygltflib.BufferView(buffer=0, byteOffset=int(o), byteLength=len(p))
        for o, p in zip(offsets, parts, strict=False)
    ]
    gltf = pygltflib.GLTF2(
        scene=0,
        scenes=[pygltflib.Scene(nodes=[0])],
        nodes=[pygltflib.Node(mesh=0)],
        meshes=[
            pygltflib.Mesh(
                primitives=[
                    pygltflib.Primitive(
                        attributes=pygltflib.Attributes(POSITION=1, TEXCOORD_0=2),
                        indices=0,
                        material=0,
                    )
                ]
            )
        ],
        materials=[
            pygltflib.Material(
                pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
                    baseColorTexture=pygltflib.TextureInfo(index=0), metallicFactor=0.0
                )
            )
        ],
        textures=[pygltflib.Texture(source=0)],
        images=[pygltflib.Image(bufferView=3, mimeType="image/png")],
        accessors=[
            pygltflib.Accessor(
                bufferView=0, componentType=pygltflib.UNSIGNED_INT, count=3, type=pygltflib.SCALAR
            ),
            pygltflib.Accessor(
                bufferView=1, componentType=pygltflib.FLOAT, count=3, type=pygltflib.VEC3
            ),
            pygltflib.Accessor(
                bufferView=2, componentType=pygltflib.FLOAT, count=3, type=pygltflib.VEC2
            ),
        ],
        bufferViews=views,
        buffers=[pygltflib.Buffer(byteLength=len(blob))],
    )
    gltf.set_binary_blob(blob)
    return b"".join(gltf.save_to_bytes())


def test_textures_are_read_and_texture_bombs_refused() -> None:
    import cv2

    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 2] = 255
    ok, png = cv2.imencode(".png", red)
    assert ok
    mesh = read_glb(_textured_triangle(bytes(png)), category="eyewear")
    assert mesh.material[0] == Material.ACETATE
    assert mesh.texture[..., 2].min() == 255
    assert mesh.texture[..., 0].max() == 0
    # A PNG whose header declares 60000 x 60000 pixels: refused before decoding.
    bomb = bytearray(png)
    bomb[16:24] = struct.pack(">II", 60000, 60000)
    with pytest.raises(AssetRefused) as info:
        read_glb(_textured_triangle(bytes(bomb)), category="eyewear")
    assert info.value.reason == "bad-model"
