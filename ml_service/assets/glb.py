"""glTF 2.0 binary (``.glb``) models: a strict reader for merchants' uploads and a writer for
the demo products.

Read (:func:`read_glb`): the 12-byte header, a JSON chunk and one BIN chunk; the scene's
nodes (matrix or translation/rotation/scale) with triangle primitives (POSITION, NORMAL,
TEXCOORD_0, COLOR_0, indices), their materials (base colour factor and texture, metallic
factor, alpha mode, KHR_materials_transmission) and embedded PNG/JPEG textures. Uploads are
hostile input: sizes, counts, offsets, index bounds, strides and values are checked, nothing
external is fetched (``uri`` buffers and images are refused), and every failure is an
``AssetRefused`` with reason ``bad-model`` (a 4xx at the gateway).

glTF is in metres, +y up, the model's front towards +z. Our product frame is millimetres with
y down and z away from the viewer (``ml_service.render.mesh``): x, -y, -z, times 1000 (a
half-turn about x, so windings keep their meaning).

Material mapping: a lens is a material or node named like ``lens``/``glass``, or blended
with opacity under 0.9, or with KHR_materials_transmission; metal is metallicFactor >= 0.5;
the rest is acetate (eyewear) or fabric (hats). Parts: nodes or meshes named like
``temple``/``arm``/``pad`` are temple arms and nose pads (not the front's outline).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.decode import decode_image
from ml_service.render.errors import AssetRefused, AssetUnreadable
from ml_service.render.mesh import F32, Material, Mesh, Part, merge, swatch, vertex_normals

MAGIC = 0x46546C67
JSON_CHUNK, BIN_CHUNK = 0x4E4F534A, 0x004E4942
MAX_BYTES = 12 * 1024 * 1024
MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_VERTICES = 300_000
MAX_TRIANGLES = 400_000
MAX_NODES = 2_000
MAX_TEXTURE_SIDE = 4096
TEXTURE_WORK_SIDE = 512  # textures are reduced to this for rendering
COMPONENTS = {
    5120: np.int8,
    5121: np.uint8,
    5122: np.int16,
    5123: np.uint16,
    5125: np.uint32,
    5126: np.float32,
}
WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def _refuse(why: str) -> AssetRefused:
    return AssetRefused(f"the 3D model (.glb) is not usable: {why}", reason="bad-model")


def is_glb(data: bytes) -> bool:
    """Whether ``data`` starts like a glTF binary."""
    return len(data) >= 4 and struct.unpack_from("<I", data, 0)[0] == MAGIC


def read_glb(data: bytes, *, category: str) -> Mesh:
    """Parse a ``.glb`` into one mesh in the product frame (mm). Raises AssetRefused."""
    try:
        return _read(bytes(data), category)
    except AssetRefused:
        raise
    except (
        ValueError,
        KeyError,
        TypeError,
        IndexError,
        OverflowError,
        struct.error,
        cv2.error,
    ) as exc:
        raise _refuse(f"malformed ({type(exc).__name__})") from None


def _read(data: bytes, category: str) -> Mesh:
    if len(data) > MAX_BYTES:
        raise _refuse(f"{len(data)} bytes, over the {MAX_BYTES} limit")
    if len(data) < 20 or not is_glb(data):
        raise _refuse("not a glTF binary (bad magic)")
    _, version, length = struct.unpack_from("<III", data, 0)
    if version != 2:
        raise _refuse(f"glTF version {version}; expected 2")
    if length != len(data):
        raise _refuse("the header's length does not match the file")
    offset, chunks = 12, []
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from("<II", data, offset)
        if offset + 8 + size > len(data):
            raise _refuse("a chunk runs past the end of the file")
        chunks.append((kind, data[offset + 8 : offset + 8 + size]))
        offset += 8 + size
    if not chunks or chunks[0][0] != JSON_CHUNK:
        raise _refuse("the first chunk is not JSON")
    if len(chunks[0][1]) > MAX_JSON_BYTES:
        raise _refuse("the JSON chunk is too large")
    doc = json.loads(chunks[0][1].decode("utf-8"))
    if not isinstance(doc, dict):
        raise _refuse("the JSON chunk is not an object")
    binary = next((c for k, c in chunks[1:] if k == BIN_CHUNK), b"")
    return _Gltf(doc, binary, category).mesh()


@dataclass
class _Gltf:
    doc: dict[str, Any]
    binary: bytes
    category: str
    textures: dict[int, NDArray[np.uint8]] = field(default_factory=dict)
    vertices: int = 0
    triangles: int = 0

    def items(self, key: str) -> list[Any]:
        value = self.doc.get(key, [])
        if not isinstance(value, list):
            raise _refuse(f"{key} is not a list")
        return value

    def mesh(self) -> Mesh:
        buffers = self.items("buffers")
        for b in buffers:
            if not isinstance(b, dict) or "uri" in b:
                raise _refuse("external buffers are not allowed (embed everything)")
        for image in self.items("images"):
            if not isinstance(image, dict) or "uri" in image:
                raise _refuse("external images are not allowed (embed everything)")
        nodes = self.items("nodes")
        if len(nodes) > MAX_NODES:
            raise _refuse("too many nodes")
        scenes = self.items("scenes")
        if scenes:
            index = int(self.doc.get("scene", 0))
            roots = scenes[index].get("nodes", [])
        else:
            children = {c for n in nodes for c in n.get("children", [])}
            roots = [i for i in range(len(nodes)) if i not in children]
        parts: list[Mesh] = []
        stack = [(int(r), np.eye(4), "") for r in roots]
        seen = 0
        while stack:
            i, parent, name = stack.pop()
            seen += 1
            if seen > MAX_NODES or not 0 <= i < len(nodes):
                raise _refuse("bad node graph")
            node = nodes[i]
            matrix = parent @ _local(node)
            label = f"{name} {node.get('name', '')}".lower()
            if "mesh" in node:
                parts.extend(self._mesh(int(node["mesh"]), matrix, label))
            for c in node.get("children", []):
                stack.append((int(c), matrix, label))
        if not parts:
            raise _refuse("no triangles in the scene")
        return merge(parts)

    def _mesh(self, index: int, matrix: NDArray[np.float64], label: str) -> list[Mesh]:
        meshes = self.items("meshes")
        if not 0 <= index < len(meshes):
            raise _refuse("a node points to a missing mesh")
        out = []
        mesh_label = f"{label} {meshes[index].get('name', '')}".lower()
        for prim in meshes[index].get("primitives", []):
            if int(prim.get("mode", 4)) != 4:
                continue  # points and lines are not surfaces
            out.append(self._primitive(prim, matrix, mesh_label))
        return out

    def _primitive(self, prim: dict[str, Any], matrix: NDArray[np.float64], label: str) -> Mesh:
        attrs = prim["attributes"]
        pos = self.accessor(int(attrs["POSITION"]), "VEC3").astype(np.float64)
        n = len(pos)
        self.vertices += n
        if self.vertices > MAX_VERTICES:
            raise _refuse(f"more than {MAX_VERTICES} vertices")
        if "indices" in prim:
            idx = self.accessor(int(prim["indices"]), "SCALAR").astype(np.int64).reshape(-1)
        else:
            idx = np.arange(n, dtype=np.int64)
        if len(idx) % 3 or len(idx) == 0:
            raise _refuse("indices are not whole triangles")
        if idx.min() < 0 or idx.max() >= n:
            raise _refuse("an index points past the vertices")
        tris = idx.reshape(-1, 3)
        self.triangles += len(tris)
        if self.triangles > MAX_TRIANGLES:
            raise _refuse(f"more than {MAX_TRIANGLES} triangles")
        if not np.isfinite(pos).all() or np.abs(pos).max(initial=0) > 10.0:
            raise _refuse("positions are not finite or not in metres")
        world = pos @ matrix[:3, :3].T + matrix[:3, 3]
        flip = np.array([1000.0, -1000.0, -1000.0])
        verts = (world * flip).astype(np.float32)
        if "NORMAL" in attrs:
            nrm = self.accessor(int(attrs["NORMAL"]), "VEC3").astype(np.float64)
            if len(nrm) != n or not np.isfinite(nrm).all():
                raise _refuse("normals do not match the positions")
            nrm = nrm @ np.linalg.inv(matrix[:3, :3]).T * np.array([1.0, -1.0, -1.0])
            nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-9)
            normals = nrm.astype(np.float32)
        else:
            normals = vertex_normals(verts, tris.astype(np.int32))
        material, texture, uv, colour = self._material(prim, n, label)
        if "COLOR_0" in attrs:
            c = self.accessor(int(attrs["COLOR_0"]), None)
            if len(c) != n or c.ndim != 2 or c.shape[1] not in (3, 4):
                raise _refuse("vertex colours do not match the positions")
            c = np.clip(np.nan_to_num(c.astype(np.float32)), 0.0, 1.0)
            colour = colour * np.column_stack(
                [c[:, 2], c[:, 1], c[:, 0], c[:, 3] if c.shape[1] == 4 else np.ones(n)]
            )
        part = (
            Part.LENS
            if material == Material.LENS
            else (
                Part.TEMPLE
                if any(w in label for w in ("temple", "arm"))
                else (Part.HAT if self.category == "hat" else Part.FRONT)
            )
        )
        k = len(tris)
        return Mesh(
            vertices=verts,
            triangles=tris.astype(np.int32),
            normals=normals,
            uv=uv,
            material=np.full(k, material, np.uint8),
            part=np.full(k, part, np.uint8),
            texture=texture,
            colours=colour.astype(np.float32),
        )

    def _material(
        self, prim: dict[str, Any], n: int, label: str
    ) -> tuple[Material, NDArray[np.uint8], F32, F32]:
        materials = self.items("materials")
        mat: dict[str, Any] = {}
        if "material" in prim:
            i = int(prim["material"])
            if not 0 <= i < len(materials):
                raise _refuse("a primitive points to a missing material")
            mat = materials[i]
        pbr = mat.get("pbrMetallicRoughness", {})
        factor = np.asarray(pbr.get("baseColorFactor", [1.0, 1.0, 1.0, 1.0]), np.float64)
        if factor.shape != (4,) or not np.isfinite(factor).all():
            raise _refuse("bad baseColorFactor")
        factor = np.clip(factor, 0.0, 1.0)
        name = f"{label} {mat.get('name', '')}".lower()
        metallic = float(pbr.get("metallicFactor", 1.0))
        transmission = "KHR_materials_transmission" in mat.get("extensions", {})
        blended = mat.get("alphaMode") == "BLEND" and factor[3] < 0.9
        if any(w in name for w in ("lens", "glass")) or transmission or blended:
            material = Material.LENS
        elif metallic >= 0.5:
            material = Material.METAL
        else:
            material = Material.FABRIC if self.category == "hat" else Material.ACETATE
        colour = np.tile(np.array([factor[2], factor[1], factor[0], factor[3]], np.float32), (n, 1))
        if material == Material.LENS:
            colour[:, 3] = 1.0  # a lens's colour is what it lets through
        tex_info = pbr.get("baseColorTexture")
        attrs = prim["attributes"]
        if tex_info is not None and "TEXCOORD_0" in attrs:
            texture = self.texture(int(tex_info["index"]))
            uv = self.accessor(int(attrs["TEXCOORD_0"]), "VEC2").astype(np.float64)
            if len(uv) != n or not np.isfinite(uv).all():
                raise _refuse("texture coordinates do not match the positions")
            th, tw = texture.shape[:2]
            uv = np.column_stack(
                [np.mod(uv[:, 0], 1.0) * tw - 0.5, np.mod(uv[:, 1], 1.0) * th - 0.5]
            )
            return material, texture, uv.astype(np.float32), colour
        return material, swatch((255, 255, 255, 255)), np.full((n, 2), 1.5, np.float32), colour

    def texture(self, index: int) -> NDArray[np.uint8]:
        if index in self.textures:
            return self.textures[index]
        textures = self.items("textures")
        source = int(textures[index]["source"])
        image = self.items("images")[source]
        raw = self.view(int(image["bufferView"]))
        try:
            # Header checked before decoding: a texture cannot be a decompression bomb.
            decoded = decode_image(raw, max_pixels=MAX_TEXTURE_SIDE * MAX_TEXTURE_SIDE)
        except AssetUnreadable:
            raise _refuse("a texture is not a readable PNG/JPEG within 4096 x 4096") from None
        h, w = decoded.shape[:2]
        f = min(1.0, TEXTURE_WORK_SIDE / max(h, w))
        if f < 1.0:
            decoded = np.asarray(
                cv2.resize(
                    decoded,
                    (max(1, round(w * f)), max(1, round(h * f))),
                    interpolation=cv2.INTER_AREA,
                ),
                np.uint8,
            )
        out = np.ascontiguousarray(decoded, np.uint8)
        self.textures[index] = out
        return out

    def view(self, index: int) -> bytes:
        views = self.items("bufferViews")
        v = views[index]
        if int(v.get("buffer", 0)) != 0:
            raise _refuse("only the embedded buffer is supported")
        start, length = int(v.get("byteOffset", 0)), int(v["byteLength"])
        if start < 0 or length < 0 or start + length > len(self.binary):
            raise _refuse("a buffer view runs past the binary chunk")
        return self.binary[start : start + length]

    def accessor(self, index: int, kind: str | None) -> NDArray[Any]:
        acc = self.items("accessors")[index]
        if kind is not None and acc["type"] != kind:
            raise _refuse(f"accessor {index} is {acc['type']}, expected {kind}")
        if "sparse" in acc:
            raise _refuse("sparse accessors are not supported")
        dtype = np.dtype(COMPONENTS[int(acc["componentType"])]).newbyteorder("<")
        width = WIDTHS[acc["type"]]
        count = int(acc["count"])
        if count < 0 or count > 3 * MAX_TRIANGLES:
            raise _refuse("an accessor's count is out of range")
        views = self.items("bufferViews")
        view = views[int(acc["bufferView"])]
        raw = self.view(int(acc["bufferView"]))
        start = int(acc.get("byteOffset", 0))
        element = dtype.itemsize * width
        stride = int(view.get("byteStride", 0)) or element
        if (
            start < 0
            or stride < element
            or (count and start + stride * (count - 1) + element > len(raw))
        ):
            raise _refuse("an accessor runs past its buffer view")
        if count == 0:
            return np.zeros((0, width), dtype)
        buf = np.frombuffer(raw, np.uint8, count=stride * (count - 1) + element, offset=start)
        rows = np.lib.stride_tricks.as_strided(buf, shape=(count, element), strides=(stride, 1))
        out = np.ascontiguousarray(rows).view(dtype).reshape(count, width)
        if acc.get("normalized") and dtype.kind in "iu":
            out = out.astype(np.float32) / float(np.iinfo(dtype.type).max)
        return out


def _local(node: dict[str, Any]) -> NDArray[np.float64]:
    if "matrix" in node:
        m = np.asarray(node["matrix"], np.float64)
        if m.shape != (16,) or not np.isfinite(m).all():
            raise _refuse("bad node matrix")
        return m.reshape(4, 4).T  # column-major
    t = np.asarray(node.get("translation", [0, 0, 0]), np.float64)
    q = np.asarray(node.get("rotation", [0, 0, 0, 1]), np.float64)
    s = np.asarray(node.get("scale", [1, 1, 1]), np.float64)
    if (
        t.shape != (3,)
        or q.shape != (4,)
        or s.shape != (3,)
        or not (np.isfinite(t).all() and np.isfinite(q).all() and np.isfinite(s).all())
    ):
        raise _refuse("bad node transform")
    x, y, z, w = q / max(float(np.linalg.norm(q)), 1e-12)
    r = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    m = np.eye(4)
    m[:3, :3] = r * s
    m[:3, 3] = t
    return m


def eyewear_from_glb(data: bytes) -> Mesh:
    """An eyewear ``.glb`` in the renderer's placement: x centred on the front, y at the
    lenses' centres, the back of the front at z = 0. Refused when its width is not that of
    glasses (80 to 200 mm)."""
    mesh = read_glb(data, category="eyewear")
    front = np.isin(mesh.part[np.arange(len(mesh.triangles))], [Part.FRONT, Part.LENS])
    used = (
        np.unique(mesh.triangles[front].reshape(-1))
        if front.any()
        else np.arange(len(mesh.vertices))
    )
    v = mesh.vertices[used]
    width = float(np.ptp(v[:, 0]))
    if not 80.0 <= width <= 200.0:
        raise _refuse(f"the frame is {width:.0f} mm wide; expected 80 to 200 mm (metres in glTF)")
    lens = mesh.part == Part.LENS
    lens_v = mesh.vertices[np.unique(mesh.triangles[lens].reshape(-1))] if lens.any() else v
    cx = 0.5 * float(v[:, 0].min() + v[:, 0].max())
    cy = 0.5 * float(lens_v[:, 1].min() + lens_v[:, 1].max())
    cz = float(v[:, 2].max())
    return mesh.moved((-cx, -cy, -cz))


def hat_from_glb(data: bytes) -> Mesh:
    """A hat ``.glb`` with the origin at the centre of its opening (the bottom of the crown
    part, its lowest ring): x and z centred, y at the lowest point. 120 to 600 mm wide."""
    mesh = read_glb(data, category="hat")
    v = mesh.vertices
    width = float(np.ptp(v[:, 0]))
    if not 120.0 <= width <= 600.0:
        raise _refuse(f"the hat is {width:.0f} mm wide; expected 120 to 600 mm (metres in glTF)")
    cx = 0.5 * float(v[:, 0].min() + v[:, 0].max())
    cz = 0.5 * float(v[:, 2].min() + v[:, 2].max())
    return mesh.moved((-cx, -float(v[:, 1].max()), -cz))


# ---------------------------------------------------------------------------------------
# Writing (demo products)


@dataclass(frozen=True)
class Primitive:
    """One part to write: vertices (mm, product frame), triangles, normals, per-vertex BGR
    colours (0..1), and its material."""

    name: str
    vertices: NDArray[np.floating]
    triangles: NDArray[np.integer]
    normals: NDArray[np.floating]
    colours: NDArray[np.floating]
    metallic: float
    roughness: float
    opacity: float = 1.0


def write_glb(primitives: list[Primitive]) -> bytes:
    """A glTF 2.0 binary with one node and mesh per primitive (vertex colours, a material
    each; lenses blended). Deterministic bytes."""
    flip = np.array([0.001, -0.001, -0.001], np.float64)
    binary = bytearray()
    views: list[dict[str, Any]] = []
    accessors: list[dict[str, Any]] = []

    def add(array: NDArray[Any], kind: str, component: int, target: int) -> int:
        raw = np.ascontiguousarray(array).tobytes()
        while len(binary) % 4:
            binary.append(0)
        views.append(
            {"buffer": 0, "byteOffset": len(binary), "byteLength": len(raw), "target": target}
        )
        binary.extend(raw)
        acc: dict[str, Any] = {
            "bufferView": len(views) - 1,
            "componentType": component,
            "count": int(array.shape[0]),
            "type": kind,
        }
        if kind == "VEC3" and component == 5126:
            acc["min"] = [float(x) for x in array.min(axis=0)]
            acc["max"] = [float(x) for x in array.max(axis=0)]
        accessors.append(acc)
        return len(accessors) - 1

    meshes, nodes, materials = [], [], []
    for p in primitives:
        pos = (np.asarray(p.vertices, np.float64) * flip).astype(np.float32)
        nrm = (np.asarray(p.normals, np.float64) * np.array([1.0, -1.0, -1.0])).astype(np.float32)
        bgr = np.asarray(p.colours, np.float32)
        rgba = np.column_stack([bgr[:, 2], bgr[:, 1], bgr[:, 0], np.ones(len(bgr))]).astype(
            np.float32
        )
        tris = np.asarray(p.triangles, np.uint32).reshape(-1)
        attributes = {
            "POSITION": add(pos, "VEC3", 5126, 34962),
            "NORMAL": add(nrm, "VEC3", 5126, 34962),
            "COLOR_0": add(rgba, "VEC4", 5126, 34962),
        }
        indices = add(tris[:, None], "SCALAR", 5125, 34963)
        material: dict[str, Any] = {
            "name": p.name,
            "pbrMetallicRoughness": {
                "baseColorFactor": [1.0, 1.0, 1.0, float(p.opacity)],
                "metallicFactor": float(p.metallic),
                "roughnessFactor": float(p.roughness),
            },
            "doubleSided": p.opacity < 1.0,
        }
        if p.opacity < 1.0:
            material["alphaMode"] = "BLEND"
        materials.append(material)
        meshes.append(
            {
                "name": p.name,
                "primitives": [
                    {"attributes": attributes, "indices": indices, "material": len(materials) - 1}
                ],
            }
        )
        nodes.append({"name": p.name, "mesh": len(meshes) - 1})
    while len(binary) % 4:
        binary.append(0)
    doc = {
        "asset": {"version": "2.0", "generator": "tryon demo_assets"},
        "scene": 0,
        "scenes": [{"nodes": list(range(len(nodes)))}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    text = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    out = struct.pack("<III", MAGIC, 2, total)
    out += struct.pack("<II", len(text), JSON_CHUNK) + text
    out += struct.pack("<II", len(binary), BIN_CHUNK) + bytes(binary)
    return out
