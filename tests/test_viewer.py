"""The offline sweep viewer: its HTML, and a real headless Chromium moving its slider.

The browser tests need a Chromium binary (Debian: ``apt-get install chromium``;
or set ``PROPGRAD_CHROMIUM`` to a Chrome/Chromium executable) and nothing from
PyPI: they speak the Chrome DevTools protocol over ``--remote-debugging-pipe``
(JSON messages on file descriptors 3 and 4) with the standard library only.
Without a browser they are skipped, saying why.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import propgrad
from propgrad.sweep import Sweep
from propgrad.viewer import SweepViewer, sweep_viewer

# --------------------------------------------------------------------------- fixtures


def brightness_sweep(n=12, size=40):
    """A colour gradient whose brightness grows along the sweep."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    levels = np.linspace(0.2, 1.0, n)
    frames = [np.stack([xx * b, yy * b, (1 - xx) * b], axis=-1) for b in levels]
    return Sweep(frames, grid=levels, grid_name="brightness")


def two_curves(n):
    t = np.linspace(0.0, 1.0, n)
    return {"rising <model>": 1 / (1 + np.exp(-(t - 0.5) * 10)), "falling": 0.8 - 0.6 * t}


def slider(html):
    return re.findall(r"<input[^>]*type=\"range\"[^>]*>", html)


# --------------------------------------------------------------------------- HTML


def test_html_has_one_slider_the_frames_and_the_curves():
    sweep = brightness_sweep(12)
    viewer = sweep_viewer(sweep, two_curves(12), threshold=0.5, title="demo")
    html = viewer._repr_html_()
    (tag,) = slider(html)
    assert 'max="11"' in tag and 'min="0"' in tag and "aria-label=" in tag
    assert viewer.n_frames == 12 and viewer.frame_indices == tuple(range(12))
    for uri in viewer.frames:
        assert uri.startswith("data:image/") and uri in html
    assert html.count('class="pgv-curve"') == 2
    assert html.count('class="pgv-dot"') == 2
    assert "&lt;model&gt;" in html and "<model>" not in html  # labels are escaped
    assert "decision threshold (0.5)" in html and "#d62728" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and "<script src" not in html  # nothing external


def test_marker_positions_follow_the_grid():
    grid = np.array([0.0, 1.0, 3.0, 7.0])
    viewer = sweep_viewer(brightness_sweep(4), {"m": [0.1, 0.2, 0.3, 0.4]}, grid=grid)
    x = np.array(viewer.x_positions)
    np.testing.assert_allclose((x - x[0]) / (x[-1] - x[0]), grid / 7.0, atol=0.01)
    np.testing.assert_array_equal(viewer.grid, grid)


def test_ids_are_unique_across_viewers_and_renderings():
    a = sweep_viewer(brightness_sweep(5), {"m": np.linspace(0, 1, 5)})
    b = sweep_viewer(brightness_sweep(5), {"m": np.linspace(0, 1, 5)})
    pages = [a._repr_html_(), b._repr_html_(), a._repr_html_()]
    ids = [re.findall(r'\bid="([^"]+)"', page) for page in pages]
    flat = [i for page_ids in ids for i in page_ids]
    assert len(flat) == len(set(flat)) and all(page_ids for page_ids in ids)
    assert all("__PGV_ID__" not in page for page in pages)
    # the script and the clip path refer to the element's own id
    root = ids[0][0]
    assert f'document.getElementById("{root}")' in pages[0]
    assert f"url(#{root}-clip)" in pages[0]
    assert a.to_html("chapter-1").startswith('<div id="chapter-1"')
    with pytest.raises(ValueError, match="element_id"):
        a.to_html('x" onload="bad')


def test_a_100_frame_viewer_stays_small(tmp_path):
    sweep = brightness_sweep(100, size=160)
    viewer = sweep_viewer(sweep, two_curves(100), threshold=0.5)
    assert viewer.n_frames == 100
    assert viewer.nbytes < 300_000
    path = viewer.save(tmp_path / "viewer.html")
    assert path.stat().st_size < 300_000
    assert "SweepViewer(100 of 100 frames" in repr(viewer)


def test_frames_are_thinned_to_max_frames_and_the_budget():
    rng = np.random.default_rng(0)
    noisy = Sweep([rng.integers(0, 256, (96, 96, 3), dtype=np.uint8) for _ in range(41)])
    viewer = sweep_viewer(noisy, {"m": np.zeros(41)}, max_frames=10, max_bytes=None)
    assert viewer.frame_indices[0] == 0 and viewer.frame_indices[-1] == 40
    assert viewer.n_frames <= 10
    assert len(set(np.diff(viewer.frame_indices[:-1]))) == 1  # every k-th
    budget = 60_000
    thin = sweep_viewer(noisy, {"m": np.zeros(41)}, max_bytes=budget, image_format="jpeg")
    assert sum(len(f) for f in thin.frames) <= budget
    assert 2 < thin.n_frames < 41 and thin.frame_indices[-1] == 40
    x = np.array(thin.x_positions)
    assert np.all(np.diff(x) > 0)


def test_frames_are_downscaled_and_formats_chosen():
    sweep = brightness_sweep(3, size=300)
    png = sweep_viewer(sweep, {"m": [0, 0.5, 1]}, frame_size=50, image_format="png")
    jpeg = sweep_viewer(sweep, {"m": [0, 0.5, 1]}, frame_size=50, image_format="jpeg")
    assert all(f.startswith("data:image/png;base64,") for f in png.frames)
    assert all(f.startswith("data:image/jpeg;base64,") for f in jpeg.frames)
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(base64.b64decode(png.frames[0].split(",", 1)[1])))
    assert image.size == (50, 50)
    assert 'width="50" height="50"' in png._repr_html_()


def test_plain_image_sequences_and_single_arrays_work():
    frames = [np.full((8, 8, 3), v, dtype=np.uint8) for v in (0, 100, 200)]
    viewer = sweep_viewer(frames, np.array([0.2, 0.4, 0.9]), ylabel="p(cat)")
    html = viewer._repr_html_()
    assert "p(cat)" in html and ">step<" in html  # the unit-step grid's name
    assert viewer.n_frames == 3


def test_a_single_frame_sweep_renders():
    viewer = sweep_viewer(brightness_sweep(1), {"m": [0.5]})
    assert 'max="0"' in slider(viewer._repr_html_())[0]


def y_ticks(html):
    return re.findall(r'text-anchor="end">([^<]+)</text>', html)


def test_y_limits_and_ticks():
    sweep = brightness_sweep(5)
    probs = sweep_viewer(sweep, {"m": np.linspace(0.1, 0.9, 5)})._repr_html_()
    assert y_ticks(probs) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    logits = sweep_viewer(sweep, {"m": np.linspace(-3, 12, 5)})._repr_html_()
    assert y_ticks(logits) == ["0", "5", "10"]
    fixed = sweep_viewer(sweep, {"m": np.zeros(5)}, ylim=(0.0, 0.5))._repr_html_()
    assert y_ticks(fixed) == ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"curves": {"m": np.zeros(4)}}, ValueError, "'m' has 4 values but the sweep has 5"),
        ({"curves": {}}, ValueError, "curves is empty"),
        ({"curves": {"m": [0, 1, np.nan, 0, 0]}}, ValueError, "'m' contains NaN"),
        ({"curves": {"m": np.zeros((5, 2))}}, ValueError, "must be 1-D"),
        ({"curves": np.zeros((5, 2))}, ValueError, "pass a mapping"),
        ({"curves": {"m": ["a"] * 5}}, ValueError, "'m' is not numeric"),
        ({"grid": [0, 1, 2]}, ValueError, "grid has 3 values but the sweep has 5"),
        ({"grid": [0, 1, 1, 2, 3]}, ValueError, "strictly increasing"),
        ({"frame_size": 4}, ValueError, "frame_size must be >= 16"),
        ({"max_frames": 0}, ValueError, "max_frames must be >= 1"),
        ({"quality": 100}, ValueError, r"quality must be in \[1, 95\]"),
        ({"max_bytes": 2.5}, ValueError, "max_bytes must be an integer"),
        ({"image_format": "gif"}, ValueError, "image_format must be one of"),
        ({"fps": 0}, ValueError, "fps must be a positive number"),
        ({"threshold": float("inf")}, ValueError, "threshold must be finite"),
        ({"ylim": (1.0, 0.0)}, ValueError, "ylim must be"),
        ({"value_format": "{:d}"}, ValueError, "value_format"),
    ],
)
def test_clear_errors(kwargs, error, match):
    arguments = {"sweep": brightness_sweep(5), "curves": {"m": np.zeros(5)}, **kwargs}
    with pytest.raises(error, match=match):
        sweep_viewer(**arguments)


def test_wrong_types():
    with pytest.raises(TypeError, match="sweep must be a Sweep"):
        sweep_viewer("frames/", {"m": [0.0]})
    with pytest.raises(TypeError, match="curves must be a mapping"):
        sweep_viewer(brightness_sweep(2), "curves")


def test_exported_from_the_package():
    assert propgrad.sweep_viewer is sweep_viewer
    assert isinstance(sweep_viewer(brightness_sweep(2), {"m": [0, 1]}), SweepViewer)


# --------------------------------------------------------------------------- a real browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def find_chromium():
    """The Chromium executable: ``$PROPGRAD_CHROMIUM`` or the first one on PATH."""
    explicit = os.environ.get("PROPGRAD_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (stdlib only).

    ``--remote-debugging-pipe`` makes Chromium read NUL-terminated JSON
    commands from file descriptor 3 and write replies and events to 4.
    """

    def __init__(self, executable, width=1200, height=900, timeout=60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="pgv-chromium-")
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def wire():  # runs in the child: the pipes become (inheritable) fds 3 and 4
            # copy both ends first (either may itself be fd 3 or 4), then make 3 and
            # 4 inheritable: dup2 onto the same number would keep it close-on-exec
            high = [os.dup(commands_read), os.dup(replies_write)]
            for fd, source in zip((3, 4), high):
                os.dup2(source, fd)
                os.set_inheritable(fd, True)

        self.process = subprocess.Popen(
            [
                executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            preexec_fn=wire,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next_id = 0
        self.session = None
        self.size = (width, height)

    def send(self, method, session=None, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _read(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise TimeoutError("no reply from Chromium")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url):
        """Open ``url`` in a fresh tab and wait until it has loaded."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        width, height = self.size
        self.send(
            "Emulation.setDeviceMetricsOverride",
            self.session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.send("Page.navigate", self.session, url=url)
        deadline = time.monotonic() + self.timeout
        while self.eval("document.readyState") != "complete" or self.eval("location.href") != url:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load")
            time.sleep(0.05)

    def eval(self, expression):
        result = self.send(
            "Runtime.evaluate", self.session, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", self.session, format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def close(self):
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.skip(
            "no Chromium found (apt-get install chromium, or set PROPGRAD_CHROMIUM): "
            "the viewer's browser tests need a headless browser"
        )
    try:
        chromium = Browser(executable)
        chromium.send("Browser.getVersion")
    except (OSError, RuntimeError, TimeoutError) as exc:
        pytest.skip(f"Chromium at {executable} does not start headless: {exc}")
    yield chromium
    chromium.close()


def move(browser, value, index=0):
    """Set the ``index``-th slider on the page to ``value`` and fire its input event."""
    browser.eval(
        f"(() => {{ const s = document.querySelectorAll('.pgv-slider')[{index}];"
        f"s.value = {value}; s.dispatchEvent(new Event('input', {{bubbles: true}})); }})()"
    )


def state(browser, index=0):
    """What the ``index``-th viewer on the page shows."""
    return browser.eval(
        f"""(() => {{
        const r = document.querySelectorAll('.pgv')[{index}];
        return {{
          src: r.querySelector('.pgv-img').src,
          x1: +r.querySelector('.pgv-mline').getAttribute('x1'),
          x2: +r.querySelector('.pgv-mline').getAttribute('x2'),
          cx: [...r.querySelectorAll('.pgv-dot')].map(d => +d.getAttribute('cx')),
          cy: [...r.querySelectorAll('.pgv-dot')].map(d => +d.getAttribute('cy')),
          values: [...r.querySelectorAll('.pgv-val')].map(v => v.textContent),
          now: r.querySelector('.pgv-now').textContent,
          value: +r.querySelector('.pgv-slider').value,
          valuetext: r.querySelector('.pgv-slider').getAttribute('aria-valuetext'),
          hidden: r.querySelector('.pgv-controls').hidden,
          sliders: document.querySelectorAll('input[type=range]').length,
        }};
        }})()"""
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    sweep = brightness_sweep(30, size=64)
    curves = two_curves(30)
    viewer = sweep_viewer(sweep, curves, threshold=0.5, fps=25, title="brightness sweep")
    path = viewer.save(tmp_path_factory.mktemp("viewer") / "viewer.html")
    return viewer, curves, path


def test_browser_slider_moves_frame_and_marker(browser, saved):
    viewer, curves, path = saved
    browser.open(path.as_uri())
    before = state(browser)
    assert before["sliders"] == 1 and before["hidden"] is False  # the script ran
    assert before["src"] == viewer.frames[0]
    assert before["x1"] == pytest.approx(viewer.x_positions[0], abs=0.05)

    move(browser, 17)
    after = state(browser)
    assert after["value"] == 17
    assert after["src"] == viewer.frames[17] != before["src"]
    x = viewer.x_positions[17]
    assert after["x1"] == after["x2"] == pytest.approx(x, abs=0.05)
    assert after["cx"] == [pytest.approx(x, abs=0.05)] * 2
    # the marker sits at the right fraction of the axis for the grid value
    grid = viewer.grid
    fraction = (after["x1"] - before["x1"]) / (viewer.x_positions[-1] - before["x1"])
    assert fraction == pytest.approx((grid[17] - grid[0]) / (grid[-1] - grid[0]), abs=0.01)
    # values as text, and the dots at the curves' values (a higher value is higher up)
    expected = [f"{float(c[17]):.3f}" for c in curves.values()]
    assert after["values"] == expected
    assert after["now"] == f"{grid[17]:.4g}"
    assert f"brightness = {grid[17]:.4g}" in after["valuetext"]
    assert all(v in after["valuetext"] for v in expected)
    rising, falling = (float(c[17]) for c in curves.values())
    assert (after["cy"][0] < after["cy"][1]) == (rising > falling)


def test_browser_keyboard_and_play(browser, saved):
    viewer, _, path = saved
    browser.open(path.as_uri())
    move(browser, 5)
    for key, expected in (("ArrowRight", 6), ("ArrowLeft", 5), ("End", 29), ("Home", 0)):
        browser.eval(
            "document.querySelector('.pgv-slider').dispatchEvent("
            f"new KeyboardEvent('keydown', {{key: '{key}', bubbles: true}}))"
        )
        assert state(browser)["value"] == expected, key
    browser.eval("document.querySelector('.pgv-play').click()")
    assert browser.eval("document.querySelector('.pgv-play').getAttribute('aria-pressed')") == (
        "true"
    )
    deadline = time.monotonic() + 10
    while state(browser)["value"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    browser.eval("document.querySelector('.pgv-play').click()")  # pause
    paused = state(browser)
    assert paused["value"] >= 3 and paused["src"] == viewer.frames[paused["value"]]
    time.sleep(0.2)
    assert state(browser)["value"] == paused["value"]


def test_browser_two_viewers_on_one_page_are_independent(browser, tmp_path):
    a = sweep_viewer(brightness_sweep(6), {"m": np.linspace(0, 1, 6)})
    b = sweep_viewer(brightness_sweep(6), {"m": np.linspace(0, 1, 6)})
    page = tmp_path / "two.html"
    page.write_text(f"<!DOCTYPE html><html><body>{a._repr_html_()}{b._repr_html_()}</body></html>")
    browser.open(page.as_uri())
    move(browser, 4, index=1)
    assert state(browser, 0)["value"] == 0 and state(browser, 0)["src"] == a.frames[0]
    assert state(browser, 1)["value"] == 4 and state(browser, 1)["src"] == b.frames[4]
