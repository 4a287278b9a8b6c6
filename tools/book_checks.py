"""Checks that ``make book`` runs before building the book.

Two subcommands, each printing one line (or one line per problem):

``library``
    Jupyter Book's execution cache (jupyter-cache, ``_build/.jupyter_cache``)
    keys a notebook by its code only, so editing the library would leave
    figures computed with the old code. This hashes every file under
    ``propgrad/`` (bytecode caches and hidden files excepted) plus
    ``pyproject.toml``, compares the hash with the one recorded at the last
    build (``_build/.library-hash``) and, when they differ, deletes the
    execution cache and Sphinx's saved environment (``_build/.doctrees``;
    without it Sphinx would not even read a notebook whose text is unchanged),
    so every notebook runs again. An unchanged library keeps both.

``pairs NOTEBOOK.md ...``
    Each MyST notebook in ``notebooks/`` is paired with an ``.ipynb`` (jupytext).
    A pair is in sync when the ``.ipynb`` has the cells jupytext reads from the
    ``.md``: same cell types, sources and tags (outputs and notebook metadata
    are ignored). Out-of-sync pairs are listed with the fix (``make sync``) and
    the command exits with status 1; nothing is rewritten.

``numbers PAGE.md ...``
    A sentence that reports a result takes its numbers from the computation
    (myst-nb glue, or a claim from :mod:`propgrad.claims`), never from the
    keyboard. This lists every sentence of the pages' prose that contains a
    decimal number or a percentage, outside math, code, glue roles, tables
    and fenced blocks (exercises included), unless the sentence quotes the
    paper or the authors (it names them or a table, figure or appendix, and
    says nothing about our own results: no "our", "we", "here"), or the
    paragraph follows a comment line ``% typed numbers: <reason>`` (a setting,
    a definition). It is a heuristic that keeps typed numbers few enough to
    read one by one; it exits with status 1 when it finds any.

Run from the repository root::

    python tools/book_checks.py pairs notebooks/*.md
    python tools/book_checks.py library
    python tools/book_checks.py numbers notebooks/*.md book/*.md
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = "propgrad"
EXTRA_FILES = ("pyproject.toml",)
CACHE = Path("_build") / ".jupyter_cache"
DOCTREES = Path("_build") / ".doctrees"  # Sphinx rereads only pages it finds changed
HASH_FILE = Path("_build") / ".library-hash"


# ----------------------------------------------------------------------------
# the library's source and the execution cache
# ----------------------------------------------------------------------------
def _library_files(root: Path) -> Iterator[Path]:
    """Yield the files whose content can change what the notebooks compute."""
    for path in sorted((root / LIBRARY).rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or "__pycache__" in parts or path.suffix in (".pyc", ".pyo"):
            continue
        if any(part.startswith(".") for part in parts):  # editor swap files, .DS_Store
            continue
        yield path
    for name in EXTRA_FILES:
        if (root / name).is_file():
            yield root / name


def library_hash(root: str | Path = ROOT) -> str:
    """SHA-256 over the relative path and content of every library file.

    Parameters
    ----------
    root : str or Path, optional
        The repository root (the folder holding ``propgrad/``).

    Returns
    -------
    str
        The hex digest; it changes when a file is edited, added, removed or
        renamed.
    """
    root = Path(root)
    digest = hashlib.sha256()
    for path in _library_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def refresh_execution_cache(root: str | Path = ROOT) -> str:
    """Delete the notebook execution cache if the library changed since the last build.

    Sphinx's saved environment goes too, so that every page is read (and every
    notebook executed) again. The current hash is recorded either way, so the
    next build compares against it. Without a recorded hash an existing cache
    is assumed stale.

    Parameters
    ----------
    root : str or Path, optional
        The repository root; the cache and the recorded hash live in its
        ``_build`` folder.

    Returns
    -------
    str
        One line saying what was done.
    """
    root = Path(root)
    hash_file = root / HASH_FILE
    current = library_hash(root)
    recorded = hash_file.read_text().strip() if hash_file.is_file() else None
    if recorded == current:
        return "library unchanged since the last build: notebook cache kept"
    stale = [root / folder for folder in (CACHE, DOCTREES) if (root / folder).exists()]
    for folder in stale:
        shutil.rmtree(folder)
    if not stale:
        message = "no notebook cache yet: library state recorded"
    elif recorded is None:
        message = "no record of the library at the last build: notebook cache cleared"
    else:
        message = "library changed since the last build: notebook cache cleared"
    hash_file.parent.mkdir(parents=True, exist_ok=True)
    hash_file.write_text(current + "\n")
    return message


# ----------------------------------------------------------------------------
# notebook pairs
# ----------------------------------------------------------------------------
def _cells(notebook) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in notebook.cells]


def pair_problem(md: str | Path) -> str | None:
    """Say how a ``.md`` notebook and its paired ``.ipynb`` differ.

    Parameters
    ----------
    md : str or Path
        The MyST notebook; its pair is the ``.ipynb`` next to it.

    Returns
    -------
    str or None
        ``None`` when the pair is in sync, else one line naming both files and
        the first difference.
    """
    import jupytext
    import nbformat

    md = Path(md)
    ipynb = md.with_suffix(".ipynb")
    if not ipynb.is_file():
        return f"{ipynb} is missing (the pair of {md})"
    expected = _cells(jupytext.read(md))
    actual = _cells(nbformat.read(ipynb, as_version=4))
    pair = f"{md} and {ipynb} differ"
    for i, (want, have) in enumerate(zip(expected, actual)):
        if want != have:
            what = ["cell type", "source", "tags"][next(k for k in range(3) if want[k] != have[k])]
            return f"{pair}: cell {i + 1} ({want[0]}) differs in its {what}"
    if len(expected) != len(actual):
        return f"{pair}: {len(expected)} cells in the .md, {len(actual)} in the .ipynb"
    return None


def pair_problems(mds: Iterable[str | Path]) -> list[str]:
    """Return one line for each out-of-sync pair (see :func:`pair_problem`)."""
    return [problem for md in mds if (problem := pair_problem(md)) is not None]


# ----------------------------------------------------------------------------
# typed numbers in prose
# ----------------------------------------------------------------------------
_FENCE = re.compile(r"^(`{3,}|:{3,})")
_HIDDEN = [
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"\$[^$]+\$"),  # inline math
    re.compile(r"`[^`]*`"),  # inline code and the content of roles ({glue:text}`...`)
    re.compile(r"\[[^\]]*\]\([^)]*\)"),  # links
]
_NUMBER = re.compile(r"(?<![\w.])\d+\.\d+|\d+(?:\.\d+)?\s?%")
# a sentence that quotes the paper or the authors (and none of our own results)
_SOURCED = re.compile(r"paper|Table \d|Figs?\. \d|appendix|authors|et al\.", re.IGNORECASE)
_OURS = re.compile(r"\b(?:our|ours|we|here)\b", re.IGNORECASE)
# a MyST comment line that exempts the next paragraph, with its reason
_EXEMPT = re.compile(r"^%\s*typed numbers:\s*\S")


def _prose(text: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) of a MyST page's prose: no front matter, no fenced blocks."""
    lines = text.splitlines()
    start = 0
    if lines and lines[0].strip() == "---":
        start = next((i + 1 for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
    fence: str | None = None
    for number, line in enumerate(lines[start:], start + 1):
        match = _FENCE.match(line.strip())
        if fence is None and match:
            fence = match.group(1)
            continue
        if fence is not None:
            closing = line.strip()
            if closing.startswith(fence[0] * len(fence)) and closing.strip(fence[0]) == "":
                fence = None
            continue
        yield number, line


def typed_numbers(page: str | Path) -> list[str]:
    """List the prose sentences of a page with a typed decimal number or percentage.

    Parameters
    ----------
    page : str or Path
        A MyST Markdown page or notebook.

    Returns
    -------
    list of str
        ``path:line: sentence`` for every sentence that contains a decimal
        number or a percentage outside math, code, roles and links and does
        not name where the number comes from (see the module notes).
    """
    page = Path(page)
    paragraphs: list[tuple[int, list[str]]] = []
    exempt: set[int] = set()
    for number, line in _prose(page.read_text()):
        if not line.strip() or not paragraphs:
            paragraphs.append((number + 1 if not line.strip() else number, []))
            if not line.strip():
                continue
        if _EXEMPT.match(line):
            exempt.add(len(paragraphs) - 1)
            continue
        if line.lstrip().startswith(("|", "%")):  # tables, comments
            continue
        paragraphs[-1][1].append(line)
    found = []
    for index, (first, lines) in enumerate(paragraphs):
        if index in exempt:
            continue
        text = " ".join(lines)
        for pattern in _HIDDEN:
            text = pattern.sub(" ", text)
        for sentence in re.split(r"(?<=[.!?:;])\s+(?=[A-Z*(])", text):
            quoted = _SOURCED.search(sentence) and not _OURS.search(sentence)
            if _NUMBER.search(sentence) and not quoted:
                found.append(f"{page}:{first}: {' '.join(sentence.split())}")
    return found


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run one check; return the exit status (1 for out-of-sync pairs)."""
    parser = argparse.ArgumentParser(description="Checks run by `make book`.")
    sub = parser.add_subparsers(dest="check", required=True)
    lib = sub.add_parser("library", help="clear the notebook cache if propgrad/ changed")
    lib.add_argument("--root", type=Path, default=ROOT, help="repository root")
    pairs = sub.add_parser("pairs", help="fail if a .md notebook and its .ipynb differ")
    pairs.add_argument("notebooks", nargs="+", type=Path, help="the .md notebooks")
    numbers = sub.add_parser("numbers", help="list prose sentences with typed result numbers")
    numbers.add_argument("pages", nargs="+", type=Path, help="MyST pages and notebooks")
    args = parser.parse_args(argv)

    if args.check == "library":
        print(refresh_execution_cache(args.root))
        return 0
    if args.check == "numbers":
        found = [line for page in args.pages for line in typed_numbers(page)]
        for line in found:
            print(f"typed number: {line}", file=sys.stderr)
        print(f"prose sentences with a typed result number: {len(found)}")
        return 1 if found else 0
    problems = pair_problems(args.notebooks)
    for problem in problems:
        print(f"out of sync: {problem}", file=sys.stderr)
    if problems:
        print(
            "run `make sync` (jupytext --sync updates the older file of each pair from the "
            "newer one), check the result and build again",
            file=sys.stderr,
        )
        return 1
    print(f"notebook pairs in sync: {len(args.notebooks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
