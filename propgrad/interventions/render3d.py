"""Offscreen renders of a mesh rotated in front of a fixed camera.

The paper's Sec. 4.4 / appendix E rotates a 3D model about the x, y and z axes
and renders one image per degree. :func:`render_rotation` does that for a
:class:`propgrad.meshes.Mesh` and returns a :class:`propgrad.sweep.Sweep` whose
grid is the angle in degrees; :func:`render` draws one frame.

Rendering uses OpenGL through moderngl on a headless EGL context (no display
needed). Without a GPU, Mesa's software rasteriser (llvmpipe) draws the frames;
on Debian it comes with the packages ``libegl1 libegl-mesa0 libgl1-mesa-dri``.

Conventions
-----------
World coordinates are right-handed with z up (see :mod:`propgrad.meshes`: in
the canonical pose an animal stands upright, head towards +x, inside the unit
sphere). The camera sits on the -y axis at ``distance`` from the origin (raised
by ``elevation`` degrees towards +z, still looking at the origin) and looks
along +y: image right is +x, image up is +z. So the canonical animal is seen
from its side, head to the right.

A rotation turns the *object* about a world axis through the origin; the
camera and the light stay fixed. Positive angles follow the right-hand rule
(counter-clockwise seen from the positive end of the axis):

* ``"z"``, the vertical axis: a turntable; at +90 degrees the head points away
  from the camera (+y), at 180 to the image left, at 270 towards the camera.
* ``"y"``, the viewing axis: an in-plane rotation of the image; at +90 degrees
  the head points down (-z), at 180 the animal is upside down, head left.
* ``"x"``, the animal's long axis: it rolls over; at +90 degrees its back
  faces the camera (its up axis points to -y), at 180 it is upside down, head
  still to the right.

(The paper's appendix E speaks of an "in-plane rotation around the z-axis"
both for its turntable and for one of its three frog renders, whose minimum
near 180 degrees points to an upside-down view, i.e. a rotation about the
viewing axis. Here the viewing axis is ``"y"`` and the vertical turntable axis
is ``"z"``.)

Shading is Lambertian with a fixed directional light, given in camera
coordinates (x right, y up, z from the object towards the camera): by default
from the upper left front, ``(-0.4, 0.5, 0.77)``. Faces are lit from the side
the camera sees, so meshes with inconsistent winding render correctly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from ctypes.util import find_library
from typing import Any

import numpy as np
from PIL import Image, ImageColor

from propgrad.meshes import Mesh, _as_rotation, _validate_axis, load_mesh, rotation_matrix
from propgrad.sweep import Sweep

__all__ = ["render", "render_rotation", "RenderError", "renderer_info", "DEFAULT_OPTIONS"]

DEBIAN_PACKAGES = ("libegl1", "libegl-mesa0", "libgl1-mesa-dri")
PIP_REQUIREMENT = "moderngl>=5.8"

DEFAULT_OPTIONS: dict[str, Any] = {
    "color": None,
    "background": (1.0, 1.0, 1.0),
    "projection": "perspective",
    "fov": 30.0,
    "distance": None,
    "scale": 1.1,
    "elevation": 0.0,
    "light": (-0.4, 0.5, 0.77),
    "ambient": 0.3,
    "diffuse": 0.7,
    "samples": 4,
}
"""Rendering options and their defaults (see :func:`render_rotation`)."""

DEFAULT_COLOR = (0.72, 0.72, 0.72)
"""Mesh colour when neither ``color`` nor vertex colours are given (light grey)."""

_VERTEX_SHADER = """
#version 330
uniform mat4 mvp;
uniform mat3 model;
in vec3 in_position;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_normal;
out vec3 v_color;
void main() {
    gl_Position = mvp * vec4(in_position, 1.0);
    v_normal = model * in_normal;
    v_color = in_color;
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform vec3 light;
uniform float ambient;
uniform float diffuse;
in vec3 v_normal;
in vec3 v_color;
out vec4 f_color;
void main() {
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) {
        n = -n;
    }
    float lambert = max(dot(n, light), 0.0);
    f_color = vec4(clamp(v_color * (ambient + diffuse * lambert), 0.0, 1.0), 1.0);
}
"""


class RenderError(RuntimeError):
    """No OpenGL context could be created (or moderngl is missing)."""


# ----------------------------------------------------------------------------
# the context, cached per process
# ----------------------------------------------------------------------------
_LOCK = threading.RLock()
_STATE: dict[str, Any] = {}


def _load_triton_first() -> None:
    """Load triton's LLVM before Mesa's: importing it after an llvmpipe context segfaults.

    triton (imported by torch's compiler stack, e.g. through torchvision, timm or
    open_clip) bundles its own LLVM; loaded after Mesa's software rasteriser has
    loaded the system's LLVM, it crashes the process. Loading it first is safe.
    """
    try:
        import triton._C.libtriton  # noqa: F401
    except Exception:  # noqa: BLE001 (absent or unusable: nothing to guard against)
        pass


def _create_context():
    _load_triton_first()
    try:
        import moderngl
    except ImportError as exc:
        raise RenderError(
            f"rendering needs the Python package moderngl ({exc}); install it with "
            f"`pip install '{PIP_REQUIREMENT}'`"
        ) from exc
    libegl = find_library("EGL") or "libEGL.so.1"
    # glcontext resolves OpenGL functions through libGL; libEGL serves as well
    # when libGL (Debian's libgl1) is not installed
    libgl = find_library("GL") or libegl
    errors = []
    for kwargs in ({"libegl": libegl, "libgl": libgl}, {"libegl": libegl, "libgl": libegl}):
        try:
            return moderngl.create_standalone_context(require=330, backend="egl", **kwargs)
        except Exception as exc:  # noqa: BLE001 (glcontext raises plain Exception)
            errors.append(f"{kwargs}: {exc}")
    raise RenderError(
        "could not create a headless OpenGL 3.3 context through EGL ("
        + "; ".join(errors)
        + "). Rendering needs libEGL and Mesa's drivers, which draw on the CPU when "
        "there is no GPU; on Debian/Ubuntu install them with `apt-get install -y "
        f"--no-install-recommends {' '.join(DEBIAN_PACKAGES)}` (conda: the conda-forge "
        "packages listed in environment.yml)"
    )


def _context():
    """The process's moderngl context (created on first use, again after a fork)."""
    with _LOCK:
        if _STATE.get("pid") != os.getpid():
            _STATE.clear()
            _STATE["ctx"] = _create_context()
            _STATE["pid"] = os.getpid()
            ctx = _STATE["ctx"]
            _STATE["program"] = ctx.program(
                vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER
            )
        return _STATE["ctx"], _STATE["program"]


def renderer_info() -> dict[str, str]:
    """The OpenGL renderer, version and vendor of the process's context.

    Returns
    -------
    dict
        ``GL_RENDERER``, ``GL_VERSION`` and ``GL_VENDOR`` (e.g. ``"llvmpipe
        (LLVM 15.0.6, 256 bits)"`` for Mesa's software rasteriser).

    Raises
    ------
    RenderError
        If no context can be created (the message says what to install).
    """
    ctx, _ = _context()
    return {key: str(ctx.info[key]) for key in ("GL_RENDERER", "GL_VERSION", "GL_VENDOR")}


# ----------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------
def _validate_color(value, name: str) -> tuple[float, float, float]:
    """An RGB triple in [0, 1] from a colour name/hex string or three numbers in [0, 1]."""
    if isinstance(value, str):
        try:
            rgb = ImageColor.getrgb(value)[:3]
        except ValueError as exc:
            raise ValueError(f"{name}: unknown colour {value!r} ({exc})") from None
        return tuple(c / 255.0 for c in rgb)
    try:
        rgb = tuple(float(c) for c in value)
    except TypeError:
        rgb = ()
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        raise ValueError(
            f"{name} must be a colour name or hex string ('gray', '#808080') or three "
            f"numbers in [0, 1], got {value!r}"
        )
    return rgb


def _validate_size(size) -> tuple[int, int]:
    """``(width, height)`` from an int (square) or a pair of ints."""
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in pair):
        raise ValueError(f"size must be a positive int or (width, height), got {size!r}")
    return int(pair[0]), int(pair[1])


def _options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ValueError(
            f"unknown render option(s) {unknown}; known options: {sorted(DEFAULT_OPTIONS)}"
        )
    opt = {**DEFAULT_OPTIONS, **options}
    if opt["color"] is not None:
        opt["color"] = _validate_color(opt["color"], "color")
    opt["background"] = _validate_color(opt["background"], "background")
    if opt["projection"] not in ("perspective", "orthographic"):
        raise ValueError(
            f"projection must be 'perspective' or 'orthographic', got {opt['projection']!r}"
        )
    for key, low, high in (("fov", 1.0, 170.0), ("elevation", -89.0, 89.0)):
        value = float(opt[key])
        if not low <= value <= high:
            raise ValueError(f"{key} must lie in [{low:g}, {high:g}] degrees, got {opt[key]!r}")
        opt[key] = value
    for key in ("scale", "ambient", "diffuse"):
        opt[key] = float(opt[key])
        if not np.isfinite(opt[key]) or opt[key] < 0 or (key == "scale" and opt[key] == 0):
            raise ValueError(f"{key} must be a finite non-negative number, got {opt[key]!r}")
    if opt["distance"] is not None:
        opt["distance"] = float(opt["distance"])
        if not opt["distance"] > 0.0:
            raise ValueError(f"distance must be positive, got {opt['distance']}")
    light = np.asarray(opt["light"], dtype=np.float64)
    if light.shape != (3,) or not np.isfinite(light).all() or not np.linalg.norm(light) > 0:
        raise ValueError(f"light must be a non-zero 3-vector, got {opt['light']!r}")
    opt["light"] = tuple(float(v) for v in light)
    samples = opt["samples"]
    if isinstance(samples, bool) or samples not in (0, 1, 2, 4, 8, 16):
        raise ValueError(f"samples must be 0 (off), 1, 2, 4, 8 or 16, got {samples!r}")
    return opt


# ----------------------------------------------------------------------------
# camera
# ----------------------------------------------------------------------------
def _camera(
    opt: dict[str, Any], aspect: float, radius: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Projection @ view matrix (4x4) and the camera-to-world rotation (3x3).

    ``radius`` bounds the mesh's distance from the origin (near and far planes).
    """
    elevation = np.radians(opt["elevation"])
    fov = np.radians(opt["fov"])
    distance = opt["distance"]
    if distance is None:  # the sphere of radius `scale` just fits the view
        distance = opt["scale"] / np.sin(fov / 2.0)
    eye = distance * np.array([0.0, -np.cos(elevation), np.sin(elevation)])
    back = eye / np.linalg.norm(eye)  # camera z: from the origin towards the eye
    right = np.array([1.0, 0.0, 0.0])  # camera x
    up = np.cross(back, right)  # camera y
    cam_to_world = np.stack([right, up, back], axis=1)
    view = np.eye(4)
    view[:3, :3] = cam_to_world.T
    view[:3, 3] = -cam_to_world.T @ eye
    near = max(distance - 1.5 * radius, 1e-3 * distance)
    far = distance + 1.5 * radius
    proj = np.zeros((4, 4))
    if opt["projection"] == "perspective":
        f = 1.0 / np.tan(fov / 2.0)
        proj[0, 0], proj[1, 1] = f / max(aspect, 1.0), f * min(aspect, 1.0)
        proj[2, 2] = (far + near) / (near - far)
        proj[2, 3] = 2.0 * far * near / (near - far)
        proj[3, 2] = -1.0
    else:  # orthographic: the shorter image side spans [-scale, scale]
        s = opt["scale"]
        proj[0, 0], proj[1, 1] = 1.0 / (s * max(aspect, 1.0)), min(aspect, 1.0) / s
        proj[2, 2] = -2.0 / (far - near)
        proj[2, 3] = -(far + near) / (far - near)
        proj[3, 3] = 1.0
    return proj @ view, cam_to_world


# ----------------------------------------------------------------------------
# drawing
# ----------------------------------------------------------------------------
class _Scene:
    """One mesh uploaded to the GPU and a framebuffer, reused for many frames."""

    def __init__(self, mesh: Mesh, size: tuple[int, int], opt: dict[str, Any]):
        self.ctx, self.program = _context()
        ctx = self.ctx
        self.size, self.opt = size, opt
        if opt["color"] is not None:
            colors = np.broadcast_to(np.asarray(opt["color"], np.float32), (mesh.n_vertices, 3))
        elif mesh.colors is not None:
            colors = mesh.colors[:, :3]
        else:
            colors = np.broadcast_to(np.asarray(DEFAULT_COLOR, np.float32), (mesh.n_vertices, 3))
        data = np.concatenate([mesh.vertices, mesh.vertex_normals(), colors], axis=1)
        self.resources = []
        vbo = self._keep(ctx.buffer(np.ascontiguousarray(data, dtype="f4").tobytes()))
        ibo = self._keep(ctx.buffer(np.ascontiguousarray(mesh.faces, dtype="i4").tobytes()))
        self.vao = self._keep(
            ctx.vertex_array(
                self.program,
                [(vbo, "3f 3f 3f", "in_position", "in_normal", "in_color")],
                index_buffer=ibo,
                index_element_size=4,
            )
        )
        samples = min(opt["samples"], ctx.max_samples) if opt["samples"] > 1 else 0
        self.target = self._keep(
            ctx.framebuffer(
                color_attachments=[self._keep(ctx.renderbuffer(size, 4))],
                depth_attachment=self._keep(ctx.depth_renderbuffer(size)),
            )
        )
        self.draw_fbo = self.target
        if samples:
            self.draw_fbo = self._keep(
                ctx.framebuffer(
                    color_attachments=[self._keep(ctx.renderbuffer(size, 4, samples=samples))],
                    depth_attachment=self._keep(ctx.depth_renderbuffer(size, samples=samples)),
                )
            )
        radius = float(np.linalg.norm(mesh.vertices, axis=1).max())
        self.mvp, cam_to_world = _camera(opt, size[0] / size[1], max(radius, 1e-6))
        light = np.asarray(opt["light"]) / np.linalg.norm(opt["light"])
        self.program["light"].value = tuple(float(v) for v in cam_to_world @ light)
        self.program["ambient"].value = opt["ambient"]
        self.program["diffuse"].value = opt["diffuse"]

    def _keep(self, obj):
        self.resources.append(obj)
        return obj

    def draw(self, rotation: np.ndarray) -> Image.Image:
        import moderngl

        ctx, width, height = self.ctx, *self.size
        model4 = np.eye(4)
        model4[:3, :3] = rotation
        # moderngl expects column-major matrices: pass the transposes' bytes
        self.program["mvp"].write((self.mvp @ model4).T.astype("f4").tobytes())
        self.program["model"].write(np.asarray(rotation, dtype="f4").T.tobytes())
        self.draw_fbo.use()
        ctx.viewport = (0, 0, width, height)
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.CULL_FACE)
        ctx.clear(*self.opt["background"], 1.0, depth=1.0)
        self.vao.render(moderngl.TRIANGLES)
        if self.draw_fbo is not self.target:
            ctx.copy_framebuffer(self.target, self.draw_fbo)
        raw = self.target.read(components=3, alignment=1)
        # OpenGL's rows start at the bottom of the image
        pixels = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)[::-1]
        return Image.fromarray(np.ascontiguousarray(pixels), mode="RGB")

    def release(self) -> None:
        for obj in reversed(self.resources):
            obj.release()
        self.resources = []


def _as_mesh(mesh) -> Mesh:
    if isinstance(mesh, Mesh):
        return mesh
    return load_mesh(mesh)


def _rotation_of(rotation) -> np.ndarray:
    if rotation is None:
        return np.eye(3)
    return _as_rotation(rotation)


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def render(mesh, rotation=None, size=224, **options) -> Image.Image:
    """Render one frame of a mesh.

    Parameters
    ----------
    mesh : Mesh, str or Path
        The mesh, or what :func:`propgrad.meshes.load_mesh` accepts (an asset
        name like ``"elephant"``, loaded in its canonical pose).
    rotation : optional
        Rotation of the object before rendering: a 3x3 matrix, an
        ``(axis, degrees)`` pair like ``("z", 30)`` or a sequence of them
        (applied in order). ``None`` renders the pose as given.
    size : int or (int, int), default 224
        Image size in pixels: an int for a square image, or ``(width, height)``.
    **options
        Rendering options, as in :func:`render_rotation`.

    Returns
    -------
    PIL.Image.Image
        An RGB image, top row first.

    Raises
    ------
    RenderError
        If no OpenGL context can be made (the message names what to install).
    ValueError
        If an option, the size or the rotation is invalid.
    """
    mesh = _as_mesh(mesh)
    r = _rotation_of(rotation)
    opt = _options(options)
    size = _validate_size(size)
    with _LOCK:
        scene = _Scene(mesh, size, opt)
        try:
            return scene.draw(r)
        finally:
            scene.release()


def _full_turn(angles: np.ndarray) -> bool:
    """True when the angles are uniform and cover one full turn (N * step == 360)."""
    n = len(angles)
    if n < 3:
        return False
    steps = np.diff(angles)
    step = (angles[-1] - angles[0]) / (n - 1)
    uniform = np.abs(steps - step).max() <= 1e-6 * step
    return bool(uniform and abs(n * step - 360.0) <= 1e-6 * 360.0)


def render_rotation(mesh, axis: str, angles, size=224, *, progress: bool = False, **options):
    """Render a mesh rotated about one axis, one frame per angle.

    Parameters
    ----------
    mesh : Mesh, str or Path
        The mesh, or what :func:`propgrad.meshes.load_mesh` accepts (an asset
        name like ``"elephant"`` is loaded in its canonical pose: upright,
        head towards +x, in the unit sphere).
    axis : {"x", "y", "z"}
        The world axis the object turns about: ``"z"`` is vertical (a
        turntable), ``"y"`` the viewing axis (an in-plane rotation), ``"x"``
        the horizontal image axis (the animal's long axis). Positive angles
        turn counter-clockwise seen from the positive end of the axis; the
        camera and the light stay fixed (module notes).
    angles : array_like of float, or int
        Strictly increasing angles in degrees, one frame each. An int ``N``
        means one full turn in ``N`` frames, ``360 * k / N`` for
        ``k = 0..N-1`` (``360`` gives one frame per degree). Include 0 but not
        360 for a full turn: the frame at 360 repeats the one at 0.
    size : int or (int, int), default 224
        Image size in pixels: an int for a square image, or ``(width, height)``.
    progress : bool, default False
        Show a tqdm progress bar.
    **options
        ``color`` (colour name, hex string or RGB in [0, 1]; default: the
        mesh's vertex colours, else light grey), ``background`` (default
        white), ``projection`` (``"perspective"``, default, or
        ``"orthographic"``), ``fov`` (field of view across the shorter image side, degrees, 30),
        ``distance`` (camera distance from the origin; default: the sphere of
        radius ``scale`` just fills the shorter image side), ``scale`` (1.1:
        half the visible extent, in world units, for ``"orthographic"``, and
        the radius that the default distance frames), ``elevation`` (camera
        height, degrees above the horizon, 0), ``light`` (direction towards
        the light in camera coordinates, ``(-0.4, 0.5, 0.77)``), ``ambient``
        (0.3) and ``diffuse`` (0.7) light strengths, ``samples`` (multisample
        anti-aliasing, 4; 0 turns it off).

    Returns
    -------
    Sweep
        The frames, with the angles in degrees as the grid
        (``grid_name="angle (degrees)"``). ``metadata`` records the mesh name,
        axis, options, renderer, and ``"periodic": True`` (with
        ``"period": 360.0``) when the angles are uniform and cover exactly one
        full turn (``N * step == 360``), so the sweep can be scored with
        ``periodic=True``.

    Raises
    ------
    RenderError
        If no OpenGL context can be made (the message names what to install).
    ValueError
        If the axis, angles, size or an option is invalid.

    Examples
    --------
    >>> sweep = render_rotation("elephant", "z", 360, size=224)  # doctest: +SKIP
    >>> len(sweep), sweep.metadata["periodic"]  # doctest: +SKIP
    (360, True)
    """
    axis = _validate_axis(axis)
    if isinstance(angles, (int, np.integer)) and not isinstance(angles, bool):
        if angles < 1:
            raise ValueError(f"angles must be a positive number of frames, got {angles}")
        grid = 360.0 * np.arange(int(angles)) / int(angles)
    else:
        grid = np.asarray(angles, dtype=np.float64).reshape(-1)
        if grid.size == 0:
            raise ValueError("angles must not be empty")
        if not np.isfinite(grid).all():
            raise ValueError("angles must be finite")
        if grid.size > 1 and not (np.diff(grid) > 0).all():
            raise ValueError("angles must be strictly increasing (degrees)")
    mesh = _as_mesh(mesh)
    opt = _options(options)
    width, height = _validate_size(size)
    iterator: Sequence[float] = grid
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(grid, desc=f"render {mesh.name or 'mesh'} about {axis}", unit="frame")
    with _LOCK:
        scene = _Scene(mesh, (width, height), opt)
        try:
            images = [scene.draw(rotation_matrix(axis, a)) for a in iterator]
        finally:
            scene.release()
        info = renderer_info()
    periodic = _full_turn(grid)
    metadata = {
        "intervention": "render_rotation",
        "mesh": mesh.name,
        "n_vertices": mesh.n_vertices,
        "n_faces": mesh.n_faces,
        "axis": axis,
        "angle_unit": "degrees",
        "size": [width, height],
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in opt.items()},
        "periodic": periodic,
        "renderer": info["GL_RENDERER"],
    }
    if periodic:
        metadata["period"] = 360.0
    if "source" in mesh.metadata:
        metadata["mesh_source"] = mesh.metadata["source"]
    return Sweep(images, grid, "angle (degrees)", metadata)
