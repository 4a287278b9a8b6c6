"""An offline sweep viewer: scrub through a sweep beside the model's output curves.

:func:`sweep_viewer` turns a :class:`~propgrad.sweep.Sweep` and its output
curves into one self-contained piece of HTML: pre-rendered, downscaled frames
(base64 data URIs), an inline SVG of the curves, a range slider over the
frames with a marker on the curves at the current frame, and about forty lines
of plain JavaScript. It needs no server, no kernel, no external library and no
network, so it works in the static HTML book, in Jupyter, and as a standalone
file (:meth:`SweepViewer.save`). Where scripts do not run (an untrusted
notebook, a plain-text preview), the first frame and the curves still show and
the controls stay hidden.

Examples
--------
>>> import numpy as np
>>> from propgrad.sweep import Sweep
>>> frames = [np.full((32, 32, 3), v, dtype=np.uint8) for v in range(0, 250, 25)]
>>> sweep = Sweep(frames, grid=np.linspace(0.0, 1.0, 10), grid_name="brightness")
>>> viewer = sweep_viewer(sweep, {"model": np.linspace(0.1, 0.9, 10)}, threshold=0.5)
>>> viewer.n_frames, viewer.frame_indices[-1]
(10, 9)
>>> "<input" in viewer._repr_html_()
True
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from propgrad.cache import atomic_path
from propgrad.plots import THRESHOLD_COLOR
from propgrad.sweep import Sweep

_FORMATS = ("auto", "jpeg", "png")
_ID_PLACEHOLDER = "__PGV_ID__"
_ids = itertools.count(1)

# SVG canvas of the curve panel (CSS pixels at 100 %; it scales down with the page)
_W, _H = 440, 250
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 14, 12, 42

_CSS = """
#ID{font-size:14px;line-height:1.35;max-width:100%;margin:.5em 0 1em;outline:none}
#ID .pgv-title{font-weight:600;margin-bottom:.4em}
#ID .pgv-body{display:flex;flex-wrap:wrap;gap:12px 20px;align-items:flex-start}
#ID .pgv-frame{margin:0;padding:0;flex:0 0 auto;width:ZFpx;text-align:center}
#ID .pgv-img{display:block;max-width:none;height:auto;margin:0;padding:0;filter:none;
 border:1px solid rgba(128,128,128,.4);border-radius:2px;background:rgba(128,128,128,.1)}
#ID .pgv-cap{margin-top:.35em;padding:0;color:inherit;font-size:13px}
#ID .pgv-xl{display:block;overflow-wrap:anywhere}
#ID .pgv-now{display:block;font-size:15px;font-weight:600;font-variant-numeric:tabular-nums}
#ID .pgv-plot{flex:1 1 320px;max-width:ZWpx;min-width:0}
#ID .pgv-svg{display:block;width:100%;height:auto;overflow:visible}
#ID .pgv-legend{list-style:none;margin:.3em 0 0;padding:0;font-size:13px}
#ID .pgv-legend li{display:flex;align-items:baseline;gap:.5em;margin:.1em 0;padding:0}
#ID .pgv-sw{flex:0 0 18px;height:0;border-top:3px solid;position:relative;top:-.25em}
#ID .pgv-lab{flex:1 1 auto;overflow-wrap:anywhere}
#ID .pgv-val{flex:0 0 auto;font-weight:600;font-variant-numeric:tabular-nums}
#ID .pgv-controls{display:flex;align-items:center;gap:10px;margin-top:.6em;max-width:ZCpx}
#ID .pgv-controls[hidden]{display:none}
#ID .pgv-play{font:inherit;font-size:13px;color:inherit;background:transparent;cursor:pointer;
 border:1px solid rgba(128,128,128,.7);border-radius:4px;padding:.15em .7em;min-width:6em}
#ID .pgv-play:focus-visible,#ID .pgv-slider:focus-visible{outline:2px solid ZA;outline-offset:2px}
#ID .pgv-slider{flex:1 1 auto;min-width:120px;accent-color:ZA;margin:0;border-radius:4px}
#ID .pgv-pos{flex:0 0 auto;font-size:13px;font-variant-numeric:tabular-nums;opacity:.85}
"""

# The data object D: f frames (data URIs), x marker x per frame, y[c] marker y per
# curve and frame, v[c] value strings, g grid strings, l curve labels, xl x label,
# ms milliseconds per frame when playing.
_JS = """(function(){
var r=document.getElementById("ID");if(!r||r.getAttribute("data-ready"))return;
r.setAttribute("data-ready","1");
var D=DATA,n=D.f.length,i=0,t=null;
function q(s){return r.querySelector(s)}
var img=q(".pgv-img"),s=q(".pgv-slider"),b=q(".pgv-play"),m=q(".pgv-mline"),
dots=r.querySelectorAll(".pgv-dot"),vals=r.querySelectorAll(".pgv-val"),
now=q(".pgv-now"),pos=q(".pgv-pos");
function show(k){
 i=Math.max(0,Math.min(n-1,k));s.value=i;img.src=D.f[i];
 var txt=D.xl+" = "+D.g[i];img.alt="frame "+(i+1)+" of "+n+", "+txt;now.textContent=D.g[i];
 m.setAttribute("x1",D.x[i]);m.setAttribute("x2",D.x[i]);
 for(var c=0;c<dots.length;c++){dots[c].setAttribute("cx",D.x[i]);
  dots[c].setAttribute("cy",D.y[c][i]);vals[c].textContent=D.v[c][i];
  txt+="; "+D.l[c]+": "+D.v[c][i];}
 s.setAttribute("aria-valuetext",txt);pos.textContent=(i+1)+" / "+n;}
function stop(){if(t!==null){clearInterval(t);t=null;}
 b.textContent="\\u25B6\\uFE0E Play";b.setAttribute("aria-pressed","false");}
function play(){if(i>=n-1)show(0);
 b.textContent="\\u275A\\u275A Pause";b.setAttribute("aria-pressed","true");
 t=setInterval(function(){if(i>=n-1)stop();else show(i+1);},D.ms);}
s.addEventListener("input",function(){show(+s.value);});
b.addEventListener("click",function(){if(t===null)play();else stop();});
r.addEventListener("keydown",function(e){
 var k={ArrowLeft:-1,ArrowDown:-1,ArrowRight:1,ArrowUp:1,PageDown:-10,PageUp:10}[e.key];
 if(e.key==="Home")k=-n;if(e.key==="End")k=n;if(!k)return;
 e.preventDefault();stop();show(i+k);});
q(".pgv-controls").hidden=false;show(0);
})();"""


@dataclass(repr=False)
class SweepViewer:
    """A sweep viewer ready to show in Jupyter, in the book, or as a file.

    Build one with :func:`sweep_viewer`. Jupyter and Jupyter Book (MyST-NB)
    render it through :meth:`_repr_html_`; every rendering gets its own
    element ids, so several viewers (or one shown twice) never clash.

    Attributes
    ----------
    frame_indices : tuple of int
        Which frames of the sweep the slider steps through (every k-th, the
        last always kept).
    x_positions : tuple of float
        The marker's x coordinate in the SVG (``viewBox`` units) at each
        slider position.
    grid : ndarray
        The grid values of the shown frames.
    n_sweep_frames : int
        Number of frames of the whole sweep.
    title : str or None
        Title shown above the viewer (and of a saved page).
    """

    frame_indices: tuple[int, ...]
    x_positions: tuple[float, ...]
    grid: np.ndarray
    n_sweep_frames: int
    title: str | None
    _template: str = field(repr=False)
    _frames: tuple[str, ...] = field(repr=False)

    @property
    def n_frames(self) -> int:
        """Number of slider positions (shown frames)."""
        return len(self.frame_indices)

    @property
    def frames(self) -> tuple[str, ...]:
        """The shown frames as ``data:`` URIs, in slider order."""
        return self._frames

    @property
    def nbytes(self) -> int:
        """Size of the rendered HTML fragment in bytes (UTF-8)."""
        return len(self._template.encode("utf-8"))

    def to_html(self, element_id: str | None = None) -> str:
        """Return the viewer as an HTML fragment (a ``<div>`` with its style and script).

        Parameters
        ----------
        element_id : str, optional
            Id of the root element; a fresh unique one by default.

        Returns
        -------
        str
            The fragment.
        """
        if element_id is None:
            digest = hashlib.sha1(self._template.encode("utf-8")).hexdigest()[:8]
            element_id = f"pgv-{digest}-{next(_ids)}"
        elif not element_id.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"element_id must be letters, digits, '-' or '_', got {element_id!r}")
        return self._template.replace(_ID_PLACEHOLDER, element_id)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save(self, path: str | Path) -> Path:
        """Write the viewer as a standalone HTML page (works offline, no server).

        Parameters
        ----------
        path : str or Path
            Target file (``.html``); its folder is created if needed.

        Returns
        -------
        Path
            The file written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        title = html.escape(self.title or "Sweep viewer")
        page = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n"
            "<style>body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
            "margin:1.5em;color:#222;background:#fff}</style>\n</head>\n<body>\n"
            f"{self.to_html()}\n</body>\n</html>\n"
        )
        with atomic_path(path) as tmp:
            tmp.write_text(page, encoding="utf-8")
        return path

    def __repr__(self) -> str:
        shown = f"{self.n_frames} of {self.n_sweep_frames} frames"
        return f"SweepViewer({shown}, {self.nbytes / 1e3:.0f} kB)"


def sweep_viewer(
    sweep: Sweep | Sequence[Any],
    curves: Mapping[str, Any] | Any,
    *,
    grid: Sequence[float] | np.ndarray | None = None,
    xlabel: str | None = None,
    ylabel: str = "output",
    threshold: float | None = None,
    ylim: tuple[float, float] | None = None,
    frame_size: int = 160,
    max_frames: int = 100,
    max_bytes: int | None = 600_000,
    image_format: str = "auto",
    quality: int = 70,
    fps: float = 10.0,
    value_format: str = "{:.3f}",
    grid_format: str = "{:.4g}",
    title: str | None = None,
) -> SweepViewer:
    """Build an offline viewer: a slider over a sweep's frames beside its output curves.

    Parameters
    ----------
    sweep : Sweep or sequence of images
        The sweep (PIL images or (H, W, 3) arrays are wrapped in a
        :class:`~propgrad.sweep.Sweep` with a unit-step grid).
    curves : mapping or array_like
        Legend label -> outputs along the sweep (N values each), e.g.
        :meth:`propgrad.scores.Scores.curves`; a single 1-D array is one curve
        labelled ``ylabel``.
    grid : array_like, optional
        x values of the curves, one per frame, strictly increasing (default:
        the sweep's grid).
    xlabel : str, optional
        x axis label and name of the current value (default: the sweep's
        ``grid_name``).
    ylabel : str, optional
        y axis label.
    threshold : float, optional
        Draw a decision threshold as a dotted red line.
    ylim : tuple of float, optional
        y limits (default: [0, 1] when every value lies there, else the data
        range with a margin).
    frame_size : int, optional
        Longest side of the embedded frames in pixels (frames are only ever
        shrunk) and their displayed size.
    max_frames : int, optional
        At most this many slider positions: every k-th frame is kept, the last
        one always.
    max_bytes : int or None, optional
        Budget for the encoded frames (base64 bytes); frames are thinned
        further (every 2k-th, 3k-th, ...) until they fit. ``None``: no budget.
        The default keeps a page light: 100 photo frames at 160 px come to
        about 50 frames and 0.5 MB; flat synthetic frames usually all fit.
    image_format : {"auto", "jpeg", "png"}, optional
        Encoding of the frames; ``"auto"`` takes the smaller of JPEG and PNG
        per frame (PNG wins, and stays sharp, on flat synthetic images).
    quality : int, optional
        JPEG quality (1-95).
    fps : float, optional
        Frames per second of the play button.
    value_format, grid_format : str, optional
        Format strings of the output values and the grid values.
    title : str, optional
        Title above the viewer.

    Returns
    -------
    SweepViewer
        Shows itself in Jupyter and Jupyter Book; :meth:`SweepViewer.save`
        writes a standalone page.

    Raises
    ------
    ValueError
        If a curve's length differs from the number of frames, a value is not
        finite, the grid is not strictly increasing, there are no curves, or
        an option is out of range.
    TypeError
        If ``sweep`` or ``curves`` has the wrong type.

    Examples
    --------
    In a chapter, for a sweep and its scores::

        sweep_viewer(dog_sweep, fur.curves("dog_002", 0, LABELS), threshold=0.5,
                     xlabel="text guidance scale s_T", ylabel="p(cat)")
    """
    sweep = _validate_sweep(sweep)
    n = len(sweep)
    x = sweep.grid if grid is None else _validate_grid(grid, n)
    named = _validate_curves(curves, n, ylabel)
    frame_size = _validate_int("frame_size", frame_size, 16)
    max_frames = _validate_int("max_frames", max_frames, 1)
    quality = _validate_int("quality", quality, 1, 95)
    if max_bytes is not None:
        max_bytes = _validate_int("max_bytes", max_bytes, 1)
    if image_format not in _FORMATS:
        raise ValueError(f"image_format must be one of {_FORMATS}, got {image_format!r}")
    if not (isinstance(fps, int | float) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if threshold is not None and not math.isfinite(float(threshold)):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    for name, fmt in (("value_format", value_format), ("grid_format", grid_format)):
        try:
            fmt.format(0.5)
        except (ValueError, IndexError, KeyError, AttributeError) as exc:
            raise ValueError(f"{name} {fmt!r} cannot format a number: {exc}") from exc
    xlabel = sweep.grid_name if xlabel is None else str(xlabel)

    frame_indices, uris = _encode_frames(
        sweep, frame_size, max_frames, max_bytes, image_format, quality
    )
    values = np.stack(list(named.values()))  # (C, N)
    y_lo, y_hi = _y_limits(values, threshold, ylim)
    x_lo, x_hi = float(x[0]), float(x[-1])
    if x_hi == x_lo:  # a single frame
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5

    def px(v: Any) -> np.ndarray:
        return _LEFT + (np.asarray(v, float) - x_lo) / (x_hi - x_lo) * (_W - _LEFT - _RIGHT)

    def py(v: Any) -> np.ndarray:
        return _TOP + (y_hi - np.asarray(v, float)) / (y_hi - y_lo) * (_H - _TOP - _BOTTOM)

    colours = _palette(len(named))
    idx = np.asarray(frame_indices)
    marker_x = [round(float(v), 1) for v in px(x[idx])]
    data = {
        "f": uris,
        "x": marker_x,
        "y": [[round(float(v), 1) for v in py(values[c, idx])] for c in range(len(named))],
        "v": [[value_format.format(float(v)) for v in values[c, idx]] for c in range(len(named))],
        "g": [grid_format.format(float(v)) for v in x[idx]],
        "l": list(named),
        "xl": xlabel,
        "ms": round(1000.0 / fps),
    }
    svg = _svg(
        x, values, colours, px, py, (x_lo, x_hi), (y_lo, y_hi), threshold, xlabel, ylabel, data
    )
    template = _page_fragment(sweep, data, svg, colours, named, threshold, frame_size, title)
    return SweepViewer(
        frame_indices=tuple(int(i) for i in frame_indices),
        x_positions=tuple(marker_x),
        grid=np.asarray(x[idx], dtype=float),
        n_sweep_frames=n,
        title=title,
        _template=template,
        _frames=tuple(uris),
    )


# --------------------------------------------------------------------------- validation


def _validate_sweep(sweep: Any) -> Sweep:
    """Return ``sweep`` as a :class:`Sweep` (wrapping a plain sequence of images)."""
    if isinstance(sweep, Sweep):
        return sweep
    if isinstance(sweep, str | bytes | Mapping) or not isinstance(sweep, Sequence | np.ndarray):
        raise TypeError(
            f"sweep must be a Sweep or a sequence of images, got {type(sweep).__name__}"
        )
    return Sweep(list(sweep))


def _validate_grid(grid: Any, n: int) -> np.ndarray:
    """Check an explicit grid: one finite, strictly increasing value per frame."""
    values = np.asarray(grid, dtype=float)
    if values.ndim != 1 or values.size != n:
        raise ValueError(f"the grid has {values.size} values but the sweep has {n} frames")
    if not np.all(np.isfinite(values)):
        raise ValueError("the grid contains NaN or inf values")
    if n > 1 and not np.all(np.diff(values) > 0):
        raise ValueError("the grid must be strictly increasing")
    return values


def _validate_curves(curves: Any, n: int, ylabel: str) -> dict[str, np.ndarray]:
    """Check the curves: label -> N finite values each."""
    if not isinstance(curves, Mapping):
        if isinstance(curves, str | bytes):
            raise TypeError("curves must be a mapping label -> values or one 1-D array")
        array = np.asarray(curves, dtype=float)
        if array.ndim != 1:
            raise ValueError(
                f"a single curve must be 1-D, got shape {array.shape}; pass a mapping "
                "label -> values for several curves"
            )
        curves = {ylabel: array}
    if not curves:
        raise ValueError("curves is empty: give at least one label -> values")
    out = {}
    for label, values in curves.items():
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"curve {label!r} is not numeric: {exc}") from exc
        if array.ndim != 1:
            raise ValueError(f"curve {label!r} must be 1-D, got shape {array.shape}")
        if array.size != n:
            raise ValueError(
                f"curve {label!r} has {array.size} values but the sweep has {n} frames"
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"curve {label!r} contains NaN or inf values")
        out[str(label)] = array
    return out


def _validate_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Check an integer option lies in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return int(value)


# --------------------------------------------------------------------------- frames


def _every_kth(n: int, k: int) -> list[int]:
    """Indices ``0, k, 2k, ...`` plus the last frame."""
    picks = list(range(0, n, k))
    if picks[-1] != n - 1:
        picks.append(n - 1)
    return picks


def _encode(image: Image.Image, size: int, image_format: str, quality: int) -> str:
    """One frame, shrunk to ``size`` pixels on its longest side, as a data URI."""
    image = image.copy()
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    encoded = []
    if image_format in ("auto", "jpeg"):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        encoded.append(("image/jpeg", buffer.getvalue()))
    if image_format in ("auto", "png"):
        buffer = io.BytesIO()
        image.save(buffer, "PNG", optimize=True)
        encoded.append(("image/png", buffer.getvalue()))
    mime, raw = min(encoded, key=lambda pair: len(pair[1]))
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _encode_frames(
    sweep: Sweep,
    size: int,
    max_frames: int,
    max_bytes: int | None,
    image_format: str,
    quality: int,
) -> tuple[list[int], list[str]]:
    """Pick every k-th frame (fewer if over budget) and encode them."""
    n = len(sweep)
    k = max(1, math.ceil((n - 1) / max(max_frames - 1, 1))) if n > max_frames else 1
    picks = _every_kth(n, k)
    while len(picks) > max_frames:  # the appended last frame can tip it over by one
        k += 1
        picks = _every_kth(n, k)
    uris = {i: _encode(sweep.images[i], size, image_format, quality) for i in picks}
    if max_bytes is not None:
        factor = 1
        while sum(len(uris[i]) for i in picks) > max_bytes and len(picks) > 2:
            factor += 1
            picks = _every_kth(n, k * factor)
            for i in picks:  # only the last frame can be new
                if i not in uris:
                    uris[i] = _encode(sweep.images[i], size, image_format, quality)
    return picks, [uris[i] for i in picks]


# --------------------------------------------------------------------------- drawing


def _palette(n: int) -> list[str]:
    """``n`` hex colours of the book's palette (the colours of :func:`plots.plot_curves`)."""
    from matplotlib.colors import to_hex

    from propgrad.plots import colors

    return [to_hex(c) for c in colors(max(n, 3))[:n]]


def _y_limits(
    values: np.ndarray, threshold: float | None, ylim: tuple[float, float] | None
) -> tuple[float, float]:
    """The y range: ``ylim``, [0, 1] for probabilities, or the data range with a margin."""
    if ylim is not None:
        lo, hi = (float(v) for v in ylim)
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValueError(f"ylim must be two finite numbers, low < high, got {ylim!r}")
        return lo, hi
    points = values.ravel()
    if threshold is not None:
        points = np.append(points, float(threshold))
    lo, hi = float(points.min()), float(points.max())
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    margin = 0.05 * (hi - lo) if hi > lo else max(abs(hi) * 0.05, 0.5)
    return lo - margin, hi + margin


def _ticks(lo: float, hi: float, target: int = 5) -> tuple[np.ndarray, int]:
    """Round tick values in [lo, hi] and the number of decimals to print."""
    raw = (hi - lo) / target
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * 0.999)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-6, step)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step / 10.0 ** math.floor(math.log10(step) + 1e-9), 6) == 2.5:
        decimals += 1
    return ticks, decimals


def _fmt(v: float, decimals: int) -> str:
    """A tick label, without a minus sign on zero."""
    text = f"{v:.{decimals}f}"
    return f"{0.0:.{decimals}f}" if float(text) == 0.0 else text


def _svg(
    x: np.ndarray,
    values: np.ndarray,
    colours: Sequence[str],
    px: Any,
    py: Any,
    xr: tuple[float, float],
    yr: tuple[float, float],
    threshold: float | None,
    xlabel: str,
    ylabel: str,
    data: Mapping[str, Any],
) -> str:
    """The curve panel as inline SVG (axes, ticks, curves, threshold, marker)."""
    esc = html.escape
    left, right, top, bottom = _LEFT, _W - _RIGHT, _TOP, _H - _BOTTOM
    parts = [
        f'<svg class="pgv-svg" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
        f'aria-label="{esc(ylabel)} against {esc(xlabel)}" '
        'xmlns="http://www.w3.org/2000/svg" font-size="12" fill="currentColor">',
        f"<title>{esc(ylabel)} against {esc(xlabel)}: {esc(', '.join(data['l']))}</title>",
        f'<clipPath id="{_ID_PLACEHOLDER}-clip"><rect x="{left}" y="{top - 4}" '
        f'width="{right - left}" height="{bottom - top + 8}"/></clipPath>',
    ]
    grid_lines, labels = [], []
    xticks, xdec = _ticks(*xr)
    for t in xticks:
        tx = float(px(t))
        grid_lines.append(f"M{tx:.1f} {top}V{bottom}")
        labels.append(
            f'<text x="{tx:.1f}" y="{bottom + 16}" text-anchor="middle">{_fmt(t, xdec)}</text>'
        )
    yticks, ydec = _ticks(*yr)
    for t in yticks:
        ty = float(py(t))
        grid_lines.append(f"M{left} {ty:.1f}H{right}")
        labels.append(
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{_fmt(t, ydec)}</text>'
        )
    parts += [
        f'<path d="{"".join(grid_lines)}" stroke="currentColor" stroke-opacity=".15" fill="none"/>',
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'stroke="currentColor" stroke-opacity=".45" fill="none"/>',
        *labels,
        f'<text x="{(left + right) / 2:.1f}" y="{_H - 6}" text-anchor="middle">'
        f"{esc(xlabel)}</text>",
        f'<text transform="translate(13 {(top + bottom) / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{esc(ylabel)}</text>',
    ]
    clip = f'clip-path="url(#{_ID_PLACEHOLDER}-clip)"'
    if threshold is not None:
        ty = float(py(threshold))
        parts.append(
            f'<path d="M{left} {ty:.1f}H{right}" stroke="{THRESHOLD_COLOR}" stroke-width="1.5" '
            f'stroke-dasharray="2 3" fill="none" {clip}/>'
        )
    xs = px(x)
    for c, colour in enumerate(colours):
        ys = py(values[c])
        d = "M" + "L".join(f"{a:.1f} {b:.1f}" for a, b in zip(xs, ys))
        parts.append(
            f'<path class="pgv-curve" d="{d}" stroke="{colour}" stroke-width="2" fill="none" '
            f'stroke-linejoin="round" stroke-linecap="round" {clip}/>'
        )
    mx = data["x"][0]
    parts.append(
        f'<line class="pgv-mline" x1="{mx}" x2="{mx}" y1="{top}" y2="{bottom}" '
        'stroke="currentColor" stroke-opacity=".7" stroke-width="1.5"/>'
    )
    for c, colour in enumerate(colours):
        parts.append(
            f'<circle class="pgv-dot" cx="{mx}" cy="{data["y"][c][0]}" r="4.5" fill="{colour}" '
            'stroke="#fff" stroke-width="1.5"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _page_fragment(
    sweep: Sweep,
    data: Mapping[str, Any],
    svg: str,
    colours: Sequence[str],
    named: Mapping[str, np.ndarray],
    threshold: float | None,
    frame_size: int,
    title: str | None,
) -> str:
    """Assemble the viewer's HTML with ``_ID_PLACEHOLDER`` for its root id."""
    esc = html.escape
    first = sweep.images[0]
    w, h = first.size
    scale = frame_size / max(w, h)
    width, height = round(w * scale), round(h * scale)
    n = len(data["f"])
    legend = [
        f'<li><span class="pgv-sw" style="border-color:{colour}"></span>'
        f'<span class="pgv-lab">{esc(label)}</span>'
        f'<span class="pgv-val">{data["v"][c][0]}</span></li>'
        for c, (colour, label) in enumerate(zip(colours, named))
    ]
    if threshold is not None:
        legend.append(
            f'<li><span class="pgv-sw" style="border-color:{THRESHOLD_COLOR};'
            f'border-top-style:dotted"></span><span class="pgv-lab">decision threshold '
            f"({threshold:g})</span></li>"
        )
    css = (
        _CSS.replace("#ID", "#" + _ID_PLACEHOLDER)
        .replace("ZA", colours[0])
        .replace("ZW", str(_W))
        .replace("ZC", str(_W + frame_size + 20))
        .replace("ZF", str(width))
    )
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    script = _JS.replace('"ID"', f'"{_ID_PLACEHOLDER}"').replace("DATA", payload, 1)
    now = f"{data['xl']} = {data['g'][0]}"
    heading = f'<div class="pgv-title">{esc(title)}</div>' if title else ""
    return "".join(
        [
            f'<div id="{_ID_PLACEHOLDER}" class="pgv" role="group" '
            f'aria-label="{esc(title or "sweep viewer")}">',
            "<style>",
            " ".join(css.split("\n")),
            "</style>",
            heading,
            '<div class="pgv-body"><figure class="pgv-frame">',
            f'<img class="pgv-img" src="{data["f"][0]}" width="{width}" height="{height}" '
            f'alt="frame 1 of {n}, {esc(now)}">',
            f'<figcaption class="pgv-cap"><span class="pgv-xl">{esc(data["xl"])}</span>'
            f'<span class="pgv-now">{esc(data["g"][0])}</span></figcaption></figure>',
            f'<div class="pgv-plot">{svg}<ul class="pgv-legend">{"".join(legend)}</ul></div>',
            "</div>",
            '<div class="pgv-controls" hidden>',
            '<button type="button" class="pgv-play" aria-pressed="false">'
            "\u25b6\ufe0e Play</button>",
            f'<input class="pgv-slider" type="range" min="0" max="{n - 1}" step="1" value="0" '
            f'aria-label="{esc(data["xl"])}: frame of the sweep" '
            f'aria-valuetext="{esc(now)}">',
            f'<span class="pgv-pos" aria-hidden="true">1 / {n}</span>',
            "</div>",
            f"<script>{script}</script>",
            "</div>",
        ]
    )
