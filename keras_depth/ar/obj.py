"""A minimal Wavefront .obj loader: ``v``, ``vt``, ``vn``, ``f`` (polygons fan-triangulated,
``v``, ``v/vt``, ``v//vn``, ``v/vt/vn``, negative indices), ``mtllib``/``usemtl`` with the .mtl's
``Kd`` and ``map_Kd`` texture. Other statements (``o``, ``g``, ``s``, ``l``, ...) are ignored.
A malformed line raises :class:`ObjFormatError` naming the file and line.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_depth.ar.render import DEFAULT_COLOR, Material, Mesh
from keras_depth.errors import DataError


class ObjFormatError(DataError):
    """A .obj or .mtl file that cannot be read (names the file and the line)."""


def _floats(tokens: list[str], n_min: int, where: str, what: str) -> list[float]:
    try:
        vals = [float(t) for t in tokens]
    except ValueError:
        raise ObjFormatError(f"{where}: '{what}' expects numbers, got {' '.join(tokens)!r}") from None
    if len(vals) < n_min:
        raise ObjFormatError(f"{where}: '{what}' needs at least {n_min} numbers, got {len(vals)}")
    if not np.all(np.isfinite(vals)):
        raise ObjFormatError(f"{where}: '{what}' has a non-finite number: {' '.join(tokens)!r}")
    return vals


def load_mtl(path: str | os.PathLike) -> dict[str, Material]:
    """Materials by name: ``Kd`` (0..1 RGB) and ``map_Kd`` (a texture image beside the .mtl)."""
    import cv2

    path = Path(path)
    materials: dict[str, Material] = {}
    current = None
    for lineno, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        where = f"{path}:{lineno}"
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        key, rest = tokens[0], tokens[1:]
        if key == "newmtl":
            if not rest:
                raise ObjFormatError(f"{where}: 'newmtl' needs a name")
            current = materials[rest[0]] = Material(color=(255, 255, 255), name=rest[0])
        elif key in ("Kd", "map_Kd") and current is None:
            raise ObjFormatError(f"{where}: '{key}' before any 'newmtl'")
        elif key == "Kd":
            kd = _floats(rest[:3], 3, where, "Kd")
            current.color = tuple(int(round(min(max(c, 0.0), 1.0) * 255)) for c in kd)
        elif key == "map_Kd":
            if not rest:
                raise ObjFormatError(f"{where}: 'map_Kd' needs a file name")
            tex_path = path.parent / rest[-1]  # options such as -s u v come first; the file is last
            img = cv2.imread(str(tex_path), cv2.IMREAD_COLOR)
            if img is None:
                raise ObjFormatError(f"{where}: texture {str(tex_path)!r} is missing or not an image")
            current.texture = img[..., ::-1].copy()
    return materials


def load_obj(path: str | os.PathLike, color: tuple[int, int, int] = DEFAULT_COLOR) -> Mesh:
    """The mesh in ``path``; faces without a material get ``color``."""
    path = Path(path)
    if not path.is_file():
        raise ObjFormatError(f"{path}: .obj file not found")
    verts: list[list[float]] = []
    uvs: list[list[float]] = []
    normals: list[list[float]] = []
    faces, face_uvs, face_normals, face_mats = [], [], [], []
    materials: list[Material] = [Material(color=tuple(color), name="default")]
    mat_index = {"default": 0}
    library: dict[str, Material] = {}
    current = 0

    def index(tok: str, count: int, where: str, what: str) -> int:
        try:
            i = int(tok)
        except ValueError:
            raise ObjFormatError(f"{where}: bad {what} index {tok!r} in face") from None
        j = i - 1 if i > 0 else count + i  # OBJ indices are 1-based; negative ones count back from the end
        if i == 0 or not 0 <= j < count:
            raise ObjFormatError(f"{where}: {what} index {i} out of range (have {count})")
        return j

    text = path.read_text(errors="replace")
    for lineno, raw in enumerate(text.splitlines(), 1):
        where = f"{path}:{lineno}"
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        key, rest = tokens[0], tokens[1:]
        if key == "v":
            verts.append(_floats(rest, 3, where, "v")[:3])
        elif key == "vt":
            uv = _floats(rest, 1, where, "vt")
            uvs.append((uv + [0.0])[:2])
        elif key == "vn":
            normals.append(_floats(rest, 3, where, "vn")[:3])
        elif key == "f":
            if len(rest) < 3:
                raise ObjFormatError(f"{where}: face needs at least 3 vertices, got {len(rest)}")
            corners = []
            for tok in rest:
                parts = tok.split("/")
                if len(parts) > 3 or not parts[0]:
                    raise ObjFormatError(f"{where}: bad face vertex {tok!r} (expected v, v/vt, v//vn or v/vt/vn)")
                vi = index(parts[0], len(verts), where, "vertex")
                ti = index(parts[1], len(uvs), where, "texture") if len(parts) > 1 and parts[1] else -1
                ni = index(parts[2], len(normals), where, "normal") if len(parts) > 2 and parts[2] else -1
                corners.append((vi, ti, ni))
            for k in range(1, len(corners) - 1):  # fan triangulation (fine for the convex polygons OBJ exporters write)
                tri = (corners[0], corners[k], corners[k + 1])
                faces.append([c[0] for c in tri])
                face_uvs.append([c[1] for c in tri])
                face_normals.append([c[2] for c in tri])
                face_mats.append(current)
        elif key == "mtllib":
            if not rest:
                raise ObjFormatError(f"{where}: 'mtllib' needs a file name")
            mtl = path.parent / " ".join(rest)
            if not mtl.is_file():
                raise ObjFormatError(f"{where}: material library {str(mtl)!r} not found")
            library.update(load_mtl(mtl))
        elif key == "usemtl":
            if not rest:
                raise ObjFormatError(f"{where}: 'usemtl' needs a material name")
            name = rest[0]
            if name not in library:
                raise ObjFormatError(f"{where}: material {name!r} is not in any 'mtllib' read so far")
            if name not in mat_index:
                mat_index[name] = len(materials)
                materials.append(library[name])
            current = mat_index[name]
    if not faces:
        raise ObjFormatError(f"{path}: no faces ('f' lines) found")
    fuv = np.array(face_uvs, np.int64)
    fn = np.array(face_normals, np.int64)
    return Mesh(
        vertices=np.array(verts, np.float64), faces=np.array(faces, np.int64),
        uvs=np.array(uvs, np.float64).reshape(-1, 2) if uvs else None, face_uvs=fuv if uvs else None,
        normals=np.array(normals, np.float64).reshape(-1, 3) if normals else None, face_normals=fn if normals else None,
        materials=materials, face_materials=np.array(face_mats, np.int64),
    )
