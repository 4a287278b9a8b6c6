"""Google Colab set-up: install this package and the EGL libraries, on Colab only.

A chapter opened on Colab (the book's launch button) runs without a checkout of
this repository and without ``propgrad`` installed. So the first code cell of
every chapter, :data:`COLAB_CELL` (tagged ``remove-cell``, so the book hides
it), does the installation itself with plain Python: it cannot import
``propgrad`` before it has installed it. This module holds the same logic for
the tests and for reuse (:func:`setup_colab`), and the cell's text, which the
tests compare with every notebook's first code cell.

**Detection.** Colab is recognised by ``"google.colab" in sys.modules``: Colab's
kernel imports its ``google.colab`` package when it starts, no other Jupyter
kernel does, and the check needs nothing but :mod:`sys`. The environment
variable ``COLAB_RELEASE_TAG`` (set in Colab's runtime) is deliberately not
used, so that one rule decides everywhere; tests fake Colab by putting an entry
into :data:`sys.modules`.

**On Colab** the cell runs ``pip install`` of this package from its repository
(extras ``torch``, ``render`` and ``citests``: every library a chapter imports;
torch itself is already installed there, so pip keeps Colab's build), then
``apt-get install`` of the EGL/Mesa packages of ``.ci/run``. ``myst-nb`` is not
installed: :mod:`propgrad.claims` glues the chapters' numbers only where
``myst_nb`` can be imported (the book build) and runs the same cells without it
elsewhere. **Anywhere else** the cell does nothing at all.

The repository's address cannot be found from inside Colab, so it is written
into the cell: :data:`REPOSITORY_URL` and :data:`BRANCH` must equal
``repository.url`` and ``repository.branch`` of ``_config.yml`` (a test checks
this, and that every notebook's first cell is :data:`COLAB_CELL`). After
changing ``_config.yml``, change them here and paste the new cell into the
notebooks. This module imports nothing heavy (no torch, no YAML parser).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPOSITORY_URL = "https://github.com/OWNER/propgrad"
"""The repository the cell installs from; equal to ``repository.url`` of ``_config.yml``."""

BRANCH = "main"
"""The branch the cell installs from; equal to ``repository.branch`` of ``_config.yml``."""

EXTRAS = ("torch", "render", "citests")
"""The extras of ``pyproject.toml`` installed on Colab: models and editors, the 3D
renders, and the conditional-independence tests of the Cats-vs-Dogs chapter's Table 9."""

EGL_PACKAGES = ("libegl1", "libegl-mesa0", "libgl1-mesa-dri")
"""The Debian/Ubuntu packages for offscreen EGL renders on the CPU (as in ``.ci/run``)."""

_CELL = """\
# On Google Colab only (elsewhere this does nothing): install propgrad and the EGL libraries.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "{requirement}"], check=True)
    subprocess.run("{apt} --no-install-recommends"
                   " {packages}", shell=True, check=True)"""

_APT = "apt-get update -qq && apt-get install -y -qq"

_CONFIG = Path(__file__).resolve().parents[1] / "_config.yml"


def in_colab() -> bool:
    """Say whether this process is a Google Colab kernel.

    Returns
    -------
    bool
        True when ``google.colab`` has been imported, which Colab's kernel does
        at start-up.
    """
    return "google.colab" in sys.modules


def pip_requirement(repository_url: str = REPOSITORY_URL, branch: str = BRANCH) -> str:
    """Return the pip requirement that installs this package from its repository.

    Parameters
    ----------
    repository_url : str, optional
        The repository's address, ``https://github.com/OWNER/NAME``.
    branch : str, optional
        The branch (or tag, or commit) to install.

    Returns
    -------
    str
        A direct reference, e.g.
        ``"propgrad[torch,render,citests] @ git+https://github.com/OWNER/propgrad@main"``.
    """
    return f"propgrad[{','.join(EXTRAS)}] @ git+{repository_url.rstrip('/')}@{branch}"


def install_commands(
    repository_url: str = REPOSITORY_URL, branch: str = BRANCH
) -> list[list[str] | str]:
    """Return the two commands the Colab set-up runs, as :func:`subprocess.run` gets them.

    Parameters
    ----------
    repository_url : str, optional
        The repository's address.
    branch : str, optional
        The branch to install.

    Returns
    -------
    list
        The ``pip install`` command (a list, run with this interpreter) and the
        ``apt-get`` command line (a string, run by the shell).
    """
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    apt = f"{_APT} --no-install-recommends {' '.join(EGL_PACKAGES)}"
    return [[*pip, pip_requirement(repository_url, branch)], apt]


def colab_cell(repository_url: str = REPOSITORY_URL, branch: str = BRANCH) -> str:
    """Return the text of the notebooks' first code cell for a repository.

    Parameters
    ----------
    repository_url : str, optional
        The repository's address (``repository.url`` of ``_config.yml``).
    branch : str, optional
        The branch (``repository.branch``).

    Returns
    -------
    str
        Self-contained Python (seven lines, no final newline) that runs
        :func:`install_commands` on Colab and nothing elsewhere.
    """
    return _CELL.format(
        requirement=pip_requirement(repository_url, branch),
        apt=_APT,
        packages=" ".join(EGL_PACKAGES),
    )


COLAB_CELL = colab_cell()
"""The first code cell of every notebook (tagged ``remove-cell``)."""


def repository_settings(config: str | Path | None = None) -> tuple[str, str]:
    """Return ``repository.url`` and ``repository.branch`` of the book's ``_config.yml``.

    Parameters
    ----------
    config : str or Path, optional
        The configuration file; by default the ``_config.yml`` of the checkout
        this module lives in. Without that file (an installed copy), the
        embedded :data:`REPOSITORY_URL` and :data:`BRANCH`.

    Returns
    -------
    tuple of str
        The address and the branch (``"main"`` when the file names none).

    Raises
    ------
    ValueError
        If the file has no ``repository:`` section with a ``url``.
    """
    path = Path(config) if config is not None else _CONFIG
    if config is None and not path.is_file():
        return REPOSITORY_URL, BRANCH
    # A small reader for the two keys, so that no YAML parser is needed.
    text = path.read_text(encoding="utf-8")
    section = re.search(r"^repository:[^\n]*\n((?:[ \t]+[^\n]*\n|[ \t]*\n)*)", text, re.M)
    values = {}
    for line in section.group(1).splitlines() if section else []:
        match = re.match(r"\s+(url|branch):\s*(['\"]?)([^'\"#\s]+)\2", line)
        if match:
            values[match.group(1)] = match.group(3)
    if "url" not in values:
        raise ValueError(f"{path} has no repository.url")
    return values["url"], values.get("branch", "main")


def setup_colab(repository_url: str | None = None, branch: str | None = None) -> bool:
    """Install this package and the EGL libraries when running on Google Colab.

    Does what :data:`COLAB_CELL` does, for code that can import this module.

    Parameters
    ----------
    repository_url : str, optional
        The repository to install from; by default ``repository.url`` of
        ``_config.yml`` (see :func:`repository_settings`).
    branch : str, optional
        The branch; by default ``repository.branch``.

    Returns
    -------
    bool
        True when the commands ran (on Colab); False elsewhere, where nothing
        is run or read.

    Raises
    ------
    subprocess.CalledProcessError
        If ``pip`` or ``apt-get`` fails.
    """
    if not in_colab():
        return False
    if repository_url is None or branch is None:
        url, default_branch = repository_settings()
        repository_url = repository_url or url
        branch = branch or default_branch
    for command in install_commands(repository_url, branch):
        subprocess.run(command, shell=isinstance(command, str), check=True)
    return True
