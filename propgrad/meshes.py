"""Triangle meshes: an OFF/COFF reader, canonical poses and vertex normals.

The 3D interventions of the paper's Sec. 4.4 rotate an object in front of a
fixed camera. This module loads the objects; :mod:`propgrad.interventions.render3d`
renders them.

Conventions
-----------
World coordinates are right-handed with **z up**. In the *canonical pose* an
animal stands upright on the plane below it (feet towards -z), its body along
the x axis with the **head towards +x**, and it is centred at the origin and
scaled to the unit sphere (the centre of its bounding box at the origin, the
farthest vertex at distance 1). The renderer's camera sits on the -y axis and
looks along +y, so an animal in the canonical pose is seen from its side (its
left flank), head to the right of the image, with +z up in the image.

A turntable turns about the vertical **z** axis. Rotations follow the
right-hand rule: a positive angle about an axis turns counter-clockwise when
seen from the positive end of that axis looking back at the origin. So a
turntable at +90 degrees turns the head from +x (image right) to +y (away from
the camera).

The seven animal meshes of the project's assets (CGAL sample data, CC0) are
stored in different poses; :data:`CANONICAL_POSES` gives, for each, the
rotation that brings it into the canonical pose (checked by looking at
renders from all sides). :func:`load_mesh` applies it. Note what they are:
``bear`` is a sitting teddy bear (legs forward), ``camel`` a dromedary,
``dino`` a two-legged dinosaur, ``elephant`` a toy-like elephant walking with
its trunk raised (one hind leg lifted; it is stored tilted), ``lion`` only the
head of a lion (a bust with an open back and open eye holes: from behind one
sees inside it), ``cow`` and ``pig`` standing animals.

This module uses NumPy only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Mesh",
    "read_obj",
    "read_off",
    "load_mesh",
    "rotation_matrix",
    "canonical_rotation",
    "CANONICAL_POSES",
    "MESH_NAMES",
]

AXES = ("x", "y", "z")

CANONICAL_POSES: dict[str, tuple[tuple[str, float], ...]] = {
    "bear": (("x", 90.0), ("z", 90.0)),
    "camel": (("x", 90.0), ("z", 90.0)),
    "cow": (("x", 90.0),),
    "dino": (("z", 90.0),),
    "elephant": (("x", 60.0), ("y", 15.0)),
    "lion": (("x", 90.0), ("z", 90.0)),
    "pig": (("x", -90.0), ("z", 90.0)),
}
"""Rotations into the canonical pose, per animal mesh of the assets.

Each entry is a sequence of ``(axis, degrees)`` steps applied in order to the
stored vertices (right-hand rule, see the module notes); the result stands
upright (z up), head towards +x. :func:`load_mesh` applies the steps, then
centres and scales the mesh."""

MESH_NAMES: tuple[str, ...] = tuple(sorted(CANONICAL_POSES))
"""Names of the animal meshes in the assets (``meshes/<name>``)."""

_DESCRIPTIONS = {
    "bear": "a teddy bear",
    "camel": "a dromedary",
    "cow": "a cow",
    "dino": "a two-legged dinosaur",
    "elephant": "an elephant",
    "lion": "the head of a lion (a bust, open at the back)",
    "pig": "a pig",
}


# ----------------------------------------------------------------------------
# the mesh type
# ----------------------------------------------------------------------------
@dataclass
class Mesh:
    """A triangle mesh.

    Parameters
    ----------
    vertices : array_like, shape (V, 3)
        Vertex positions; stored as float32.
    faces : array_like, shape (F, 3)
        Vertex indices of each triangle (counter-clockwise seen from outside
        for a consistently oriented mesh); stored as int32.
    colors : array_like, shape (V, 3) or (V, 4), optional
        Per-vertex RGB or RGBA colours in ``[0, 1]``; stored as float32 RGBA.
    name : str, optional
        What the mesh is (e.g. ``"elephant"``); recorded in sweep metadata.
    metadata : dict, optional
        Facts about the mesh (:func:`load_mesh` records its source file, the
        rotation into the canonical pose and a description).

    Raises
    ------
    ValueError
        If an array has the wrong shape, holds NaN/inf, a face refers to a
        vertex that does not exist, or a colour lies outside ``[0, 1]``.

    Examples
    --------
    >>> tetra = Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]],
    ...              [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], name="tetrahedron")
    >>> tetra.n_vertices, tetra.n_faces, tetra.vertices.dtype.name
    (4, 4, 'float32')
    """

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray | None = None
    name: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
            raise ValueError(f"vertices must have shape (V, 3) with V >= 1, got {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError("vertices contain NaN or inf values")
        f = np.asarray(self.faces)
        if f.size == 0:
            f = f.reshape(0, 3)
        if f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"faces must have shape (F, 3), got {f.shape}")
        if f.size and not np.issubdtype(f.dtype, np.integer):
            if not np.array_equal(f, np.round(f)):
                raise ValueError("faces must hold integer vertex indices")
        f = f.astype(np.int64)
        if f.size and (f.min() < 0 or f.max() >= len(v)):
            raise ValueError(
                f"faces refer to vertex indices {int(f.min())}..{int(f.max())}, but there are "
                f"only {len(v)} vertices (0..{len(v) - 1})"
            )
        self.vertices = np.ascontiguousarray(v, dtype=np.float32)
        self.faces = np.ascontiguousarray(f, dtype=np.int32)
        if self.colors is not None:
            c = np.asarray(self.colors, dtype=np.float64)
            if c.ndim != 2 or c.shape[0] != len(v) or c.shape[1] not in (3, 4):
                raise ValueError(
                    f"colors must have shape (V, 3) or (V, 4) with V = {len(v)}, got {c.shape}"
                )
            if not np.isfinite(c).all() or c.min() < 0.0 or c.max() > 1.0:
                raise ValueError("colors must be finite and lie in [0, 1]")
            if c.shape[1] == 3:
                c = np.concatenate([c, np.ones((len(c), 1))], axis=1)
            self.colors = np.ascontiguousarray(c, dtype=np.float32)
        self.metadata = dict(self.metadata)

    @property
    def n_vertices(self) -> int:
        """Number of vertices."""
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        """Number of triangles."""
        return int(self.faces.shape[0])

    @property
    def bounds(self) -> np.ndarray:
        """Axis-aligned bounding box as ``[[xmin, ymin, zmin], [xmax, ymax, zmax]]``."""
        return np.stack([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    def face_normals(self) -> np.ndarray:
        """Unit normals of the triangles, shape (F, 3), float32.

        The normal of triangle ``(a, b, c)`` is ``(b - a) x (c - a)``
        normalised (outward for counter-clockwise faces); degenerate triangles
        get a zero normal.
        """
        cross = self._face_cross()
        length = np.linalg.norm(cross, axis=1, keepdims=True)
        return (cross / np.where(length > 0, length, 1.0)).astype(np.float32)

    def vertex_normals(self) -> np.ndarray:
        """Unit vertex normals, shape (V, 3), float32.

        Each vertex gets the sum of the (unnormalised) normals of the triangles
        around it, i.e. an area-weighted average, normalised. Vertices in no
        triangle get a zero normal.
        """
        cross = self._face_cross()
        normals = np.zeros((self.n_vertices, 3))
        for k in range(3):
            np.add.at(normals, self.faces[:, k], cross)
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        return (normals / np.where(length > 0, length, 1.0)).astype(np.float32)

    def _face_cross(self) -> np.ndarray:
        v = self.vertices.astype(np.float64)
        a, b, c = (v[self.faces[:, k]] for k in range(3))
        return np.cross(b - a, c - a)

    def rotated(self, rotation) -> Mesh:
        """A copy with the vertices rotated about the origin.

        Parameters
        ----------
        rotation : array_like or sequence of (str, float)
            A 3x3 rotation matrix, or ``(axis, degrees)`` steps as accepted by
            :func:`rotation_matrix`.

        Returns
        -------
        Mesh
            The rotated mesh (faces, colours and name unchanged).
        """
        r = _as_rotation(rotation)
        return Mesh(
            self.vertices.astype(np.float64) @ r.T,
            self.faces,
            self.colors,
            self.name,
            self.metadata,
        )

    def normalized(self) -> Mesh:
        """A copy centred at the origin and scaled to the unit sphere.

        The centre of the axis-aligned bounding box moves to the origin, then
        the mesh is scaled so that its farthest vertex is at distance 1.

        Returns
        -------
        Mesh
            The normalised mesh.

        Raises
        ------
        ValueError
            If all vertices coincide.
        """
        v = self.vertices.astype(np.float64)
        centre = (v.min(axis=0) + v.max(axis=0)) / 2.0
        v = v - centre
        radius = float(np.sqrt((v * v).sum(axis=1).max()))
        if radius == 0.0:
            raise ValueError("cannot normalise a mesh whose vertices all coincide")
        return Mesh(v / radius, self.faces, self.colors, self.name, self.metadata)


# ----------------------------------------------------------------------------
# rotations
# ----------------------------------------------------------------------------
def _validate_axis(axis) -> str:
    if axis not in AXES:
        raise ValueError(f"axis must be one of {AXES}, got {axis!r}")
    return axis


def rotation_matrix(axis: str, degrees: float) -> np.ndarray:
    """Rotation matrix about a coordinate axis (right-hand rule).

    Parameters
    ----------
    axis : {"x", "y", "z"}
        The axis to rotate about.
    degrees : float
        The angle; positive angles turn counter-clockwise when seen from the
        positive end of the axis looking back at the origin.

    Returns
    -------
    numpy.ndarray, shape (3, 3)
        ``R`` with ``R @ p`` the rotated point ``p`` (float64).

    Raises
    ------
    ValueError
        If ``axis`` is not one of ``"x"``, ``"y"``, ``"z"`` or the angle is not
        finite.

    Examples
    --------
    >>> rotation_matrix("z", 90.0).round(12) @ [1.0, 0.0, 0.0]
    array([0., 1., 0.])
    """
    axis = _validate_axis(axis)
    degrees = float(degrees)
    if not np.isfinite(degrees):
        raise ValueError(f"the rotation angle must be finite, got {degrees}")
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    # exact values at multiples of 90 degrees (no 6e-17 residue)
    if degrees % 90.0 == 0.0:
        c, s = float(round(c)), float(round(s))
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def _as_rotation(rotation) -> np.ndarray:
    """A 3x3 rotation from a matrix, one ``(axis, degrees)`` pair or a list of them."""
    if isinstance(rotation, np.ndarray) or (
        isinstance(rotation, Sequence)
        and len(rotation) == 3
        and all(isinstance(row, (Sequence, np.ndarray)) and len(row) == 3 for row in rotation)
    ):
        r = np.asarray(rotation, dtype=np.float64)
        if r.shape != (3, 3) or not np.isfinite(r).all():
            raise ValueError(f"a rotation matrix must be a finite 3x3 array, got shape {r.shape}")
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-5) or np.linalg.det(r) < 0:
            raise ValueError("a rotation matrix must be orthogonal with determinant +1")
        return r
    steps = rotation
    if isinstance(steps, tuple) and len(steps) == 2 and isinstance(steps[0], str):
        steps = (steps,)
    r = np.eye(3)
    try:
        for axis, degrees in steps:
            r = rotation_matrix(axis, degrees) @ r
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "a rotation must be a 3x3 matrix, an (axis, degrees) pair or a sequence of "
            f"them, e.g. [('x', 90), ('z', 180)]; got {rotation!r} ({exc})"
        ) from None
    return r


def canonical_rotation(name: str) -> np.ndarray:
    """The rotation into the canonical pose of one of the animal meshes.

    Parameters
    ----------
    name : str
        A mesh name from :data:`MESH_NAMES` (``"elephant"`` or
        ``"meshes/elephant"``).

    Returns
    -------
    numpy.ndarray, shape (3, 3)
        The rotation matrix (apply it to the stored vertices).

    Raises
    ------
    KeyError
        If there is no canonical pose for ``name``.
    """
    key = _short_name(name)
    if key not in CANONICAL_POSES:
        raise KeyError(
            f"no canonical pose for mesh {name!r}; known: {', '.join(MESH_NAMES)}. "
            "Pass rotation=... to load_mesh for other meshes"
        )
    return _as_rotation(CANONICAL_POSES[key])


# ----------------------------------------------------------------------------
# reading OFF / COFF
# ----------------------------------------------------------------------------
class _Lines:
    """Non-empty, comment-stripped lines of a text file with their line numbers."""

    def __init__(self, text: str, where: str):
        self.where = where
        self.items = []
        for number, line in enumerate(text.splitlines(), start=1):
            content = line.split("#", 1)[0].split()
            if content:
                self.items.append((number, content))
        self.pos = 0

    def next(self, what: str) -> tuple[int, list[str]]:
        if self.pos >= len(self.items):
            raise ValueError(f"{self.where}: the file ends before {what}")
        item = self.items[self.pos]
        self.pos += 1
        return item

    def take(self, count: int, what: str) -> list[tuple[int, list[str]]]:
        if self.pos + count > len(self.items):
            have = len(self.items) - self.pos
            raise ValueError(
                f"{self.where}: the file ends after {have} of the {count} {what} lines "
                "its header announces"
            )
        chunk = self.items[self.pos : self.pos + count]
        self.pos += count
        return chunk


def _numbers(where: str, number: int, tokens: list[str], what: str, kind=float) -> list:
    try:
        return [kind(t) for t in tokens]
    except ValueError:
        raise ValueError(
            f"{where}, line {number}: cannot read {what} from {' '.join(tokens)!r}"
        ) from None


def read_off(path: str | Path, name: str | None = None) -> Mesh:
    """Read a mesh from an OFF or COFF file.

    Supported: the ``OFF`` header (optionally with the three counts on the
    same line) and ``COFF`` (each vertex line carries an RGBA colour after
    ``x y z``; integers 0..255 or floats in [0, 1]); ``#`` comments and blank
    lines anywhere; faces with any number of vertices (polygons are split into
    a fan of triangles ``(v0, v_k, v_k+1)``), and ignored per-face colours
    after the indices.

    Parameters
    ----------
    path : str or Path
        The file.
    name : str, optional
        The mesh's name; the file's stem by default.

    Returns
    -------
    Mesh
        Vertices and triangles as stored (no pose change, no scaling); vertex
        colours for COFF.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not OFF/COFF or is malformed; the message names the
        file and the line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file not found: {path}")
    where = str(path)
    lines = _Lines(path.read_text(errors="replace"), where)
    number, header = lines.next("the OFF header")
    kind = header[0].upper()
    if kind not in ("OFF", "COFF"):
        raise ValueError(
            f"{where}, line {number}: expected the header OFF or COFF, got {header[0]!r} "
            "(only OFF and COFF files are supported)"
        )
    counts = header[1:]
    if not counts:
        number, counts = lines.next("the vertex and face counts")
    if len(counts) < 2:
        raise ValueError(
            f"{where}, line {number}: expected 'n_vertices n_faces n_edges', got "
            f"{' '.join(counts)!r}"
        )
    n_vertices, n_faces = _numbers(where, number, counts[:2], "the vertex and face counts", int)
    if n_vertices < 1 or n_faces < 0:
        raise ValueError(
            f"{where}, line {number}: bad counts {n_vertices} vertices, {n_faces} faces"
        )

    width = 7 if kind == "COFF" else 3
    vertex_lines = lines.take(n_vertices, "vertex")
    data = _fast_block(vertex_lines, width, np.float64)
    if data is None:  # the line-by-line reader finds (and reports) the bad line
        data = _read_vertices(vertex_lines, width, kind, where)
    if not np.isfinite(data).all():
        bad = int(np.argmax(~np.isfinite(data).all(axis=1)))
        raise ValueError(f"{where}, line {vertex_lines[bad][0]}: a vertex is not finite")
    vertices = data[:, :3]
    colors = None
    if kind == "COFF":
        colors = data[:, 3:7]
        if colors.max() > 1.0:  # 0..255 integers
            colors = colors / 255.0
        if colors.min() < 0.0 or colors.max() > 1.0:
            raise ValueError(f"{where}: vertex colours must lie in 0..255 or in [0, 1]")

    face_lines = lines.take(n_faces, "face")
    faces = _fast_block(face_lines, 4, np.int64)
    if faces is not None and (faces[:, 0] == 3).all():
        faces = faces[:, 1:]
        if faces.size and (faces.min() < 0 or faces.max() >= n_vertices):
            faces = None  # out of range: let the line-by-line reader say where
    else:
        faces = None
    if faces is None:
        faces = _read_faces(face_lines, n_vertices, where)
    return Mesh(vertices, faces, colors, name=path.stem if name is None else name)


def _fast_block(block: list[tuple[int, list[str]]], width: int, dtype) -> np.ndarray | None:
    """All lines of ``block`` as one array when each has exactly ``width`` numbers."""
    if not block or any(len(tokens) != width for _, tokens in block):
        return None
    try:
        return np.array([tokens for _, tokens in block], dtype=dtype)
    except ValueError:
        return None


def _read_vertices(block, width: int, kind: str, where: str) -> np.ndarray:
    rows = []
    for number, tokens in block:
        if len(tokens) < width:
            what = "x y z r g b a" if kind == "COFF" else "x y z"
            raise ValueError(
                f"{where}, line {number}: a vertex line needs {width} numbers ({what}), got "
                f"{len(tokens)}: {' '.join(tokens)!r}"
            )
        rows.append(_numbers(where, number, tokens[:width], "a vertex"))
    return np.array(rows, dtype=np.float64)


def _read_faces(block, n_vertices: int, where: str) -> np.ndarray:
    triangles = []
    for number, tokens in block:
        (count,) = _numbers(where, number, tokens[:1], "a face's vertex count", int)
        if count < 3:
            raise ValueError(
                f"{where}, line {number}: a face needs at least 3 vertices, got {count}"
            )
        if len(tokens) < count + 1:
            raise ValueError(
                f"{where}, line {number}: the face announces {count} vertices but lists "
                f"{len(tokens) - 1}"
            )
        idx = _numbers(where, number, tokens[1 : count + 1], "vertex indices", int)
        bad = [i for i in idx if not 0 <= i < n_vertices]
        if bad:
            raise ValueError(
                f"{where}, line {number}: vertex index {bad[0]} is out of range "
                f"(the file has {n_vertices} vertices, 0..{n_vertices - 1})"
            )
        triangles.extend((idx[0], idx[k], idx[k + 1]) for k in range(1, count - 1))
    return np.array(triangles, dtype=np.int64).reshape(-1, 3)


def read_obj(path: str | Path, name: str | None = None) -> Mesh:
    """Read a mesh from a Wavefront OBJ file (its ``v`` and ``f`` lines).

    Polygons are split into a fan of triangles; texture and normal indices
    (``f 1/2/3 ...``) and every other kind of line are ignored; negative
    (relative) indices are supported.

    Parameters
    ----------
    path : str or Path
        The file.
    name : str, optional
        The mesh's name; the file's stem by default.

    Returns
    -------
    Mesh
        Vertices and triangles as stored (no pose change, no scaling).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If a ``v`` or ``f`` line cannot be read (the message names the file
        and the line) or there are no vertices or faces.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file not found: {path}")
    vertices, faces = [], []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == "v":
                vertices.append([float(v) for v in parts[1:4]])
            elif parts[0] == "f":
                index = [int(p.split("/")[0]) for p in parts[1:]]
                index = [i - 1 if i > 0 else len(vertices) + i for i in index]
                faces.extend([index[0], index[k], index[k + 1]] for k in range(1, len(index) - 1))
        except ValueError as error:
            raise ValueError(
                f"{path}, line {number}: cannot read {line.strip()!r} ({error})"
            ) from None
    if not vertices or not faces:
        raise ValueError(f"{path} holds no vertices or faces (OBJ 'v' and 'f' lines)")
    return Mesh(vertices, faces, name=path.stem if name is None else name)


# ----------------------------------------------------------------------------
# loading by name or path
# ----------------------------------------------------------------------------
def _short_name(name: str) -> str:
    name = str(name)
    return name[len("meshes/") :] if name.startswith("meshes/") else name


def _resolve(source: str | Path) -> tuple[Path, str, bool]:
    """The file behind ``source``, the mesh's name, and whether it is an asset."""
    text = str(source)
    path = Path(source).expanduser()
    looks_like_name = isinstance(source, str) and "/" not in _short_name(text)
    looks_like_name = looks_like_name and not text.lower().endswith((".off", ".obj"))
    if not looks_like_name:
        if not path.is_file():
            raise FileNotFoundError(f"mesh file not found: {path}")
        return path, path.stem, False
    short = _short_name(text)
    from propgrad.assets import ASSETS, fetch_asset

    asset_name = f"meshes/{short}"
    if asset_name in ASSETS:
        return Path(fetch_asset(asset_name)), short, True
    # not registered: look for <dir>/meshes/<name>.off in $PROPGRAD_ASSETS
    for folder in os.environ.get("PROPGRAD_ASSETS", "").split(os.pathsep):
        if folder.strip():
            candidate = Path(folder).expanduser() / "meshes" / f"{short}.off"
            if candidate.is_file():
                return candidate, short, True
    known = sorted(n[len("meshes/") :] for n in ASSETS if n.startswith("meshes/"))
    raise KeyError(
        f"unknown mesh {text!r}: not a registered asset (known: {', '.join(known) or 'none'}), "
        f"and no file meshes/{short}.off in $PROPGRAD_ASSETS; pass a path to an .off or .obj file"
    )


def load_mesh(source: str | Path, *, canonical: bool = True, rotation=None) -> Mesh:
    """Load a mesh by asset name or from an OFF/COFF or OBJ file, in its canonical pose.

    Parameters
    ----------
    source : str or Path
        An animal of the assets by name (``"elephant"`` or
        ``"meshes/elephant"``; fetched with :func:`propgrad.assets.fetch_asset`,
        or read from ``$PROPGRAD_ASSETS/meshes/<name>.off`` for a name that is
        not registered), or a path to an ``.off`` or ``.obj`` file (a string
        containing a ``/`` other than the ``meshes/`` prefix, or ending in
        ``.off`` or ``.obj``, is a path).
    canonical : bool, default True
        Bring the mesh into the canonical pose (module notes): rotate it
        (``rotation``, else the :data:`CANONICAL_POSES` entry of a known
        animal, else not at all), then centre it at the origin and scale it to
        the unit sphere. ``False`` returns the mesh as stored. The table is
        used only for meshes loaded by name, never for a file path.
    rotation : array_like or sequence of (str, float), optional
        The rotation into the canonical pose for a mesh not in
        :data:`CANONICAL_POSES` (or to override its entry): a 3x3 matrix or
        ``(axis, degrees)`` steps, e.g. ``[("x", 90), ("z", 180)]``.

    Returns
    -------
    Mesh
        The mesh; ``metadata`` records the source file and the rotation.

    Raises
    ------
    KeyError
        If ``source`` looks like a name but is no known mesh.
    FileNotFoundError
        If a path does not exist.
    ValueError
        If the file is malformed or ``rotation`` is invalid.
    """
    path, name, by_name = _resolve(source)
    mesh = (read_obj if path.suffix.lower() == ".obj" else read_off)(path, name=name)
    mesh.metadata["source"] = str(path)
    known = by_name and name in CANONICAL_POSES
    if not canonical:
        return mesh
    if rotation is not None:
        r = _as_rotation(rotation)
    elif known:
        r = canonical_rotation(name)
    else:
        r = np.eye(3)
    out = mesh.rotated(r).normalized()
    out.metadata["canonical_rotation"] = r.round(12).tolist()
    if known:
        out.metadata["description"] = _DESCRIPTIONS[name]
    return out
