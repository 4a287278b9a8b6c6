"""The checks `make book` runs before building (tools/book_checks.py), on temporary copies."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "book_checks.py"


def load_book_checks():
    spec = importlib.util.spec_from_file_location("book_checks", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


book_checks = load_book_checks()


def test_makefile_runs_the_checks_and_no_longer_syncs():
    recipe = (ROOT / "Makefile").read_text().split("\nbook:", 1)[1].split("\n\n", 1)[0]
    assert "tools/book_checks.py pairs notebooks/*.md" in recipe
    assert "tools/book_checks.py library" in recipe
    assert "--sync" not in recipe
    assert recipe.index("book_checks.py library") < recipe.index("jupyter-book build")


# ----------------------------------------------------------------------------
# library change -> notebook cache cleared
# ----------------------------------------------------------------------------
@pytest.fixture()
def repo(tmp_path):
    """A fake repository: propgrad/ with a module, pyproject.toml, a built book."""
    (tmp_path / "propgrad" / "sub").mkdir(parents=True)
    (tmp_path / "propgrad" / "__init__.py").write_text("")
    (tmp_path / "propgrad" / "sub" / "core.py").write_text("SCALE = 1.0\nOFFSET = 0.0\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "propgrad"\n')
    return tmp_path


def fake_build(root: Path) -> None:
    """What a book build leaves behind: an execution cache and Sphinx's environment."""
    (root / "_build" / ".jupyter_cache" / "executed").mkdir(parents=True, exist_ok=True)
    (root / "_build" / ".jupyter_cache" / "global.db").write_text("cache")
    (root / "_build" / ".doctrees").mkdir(parents=True, exist_ok=True)
    (root / "_build" / ".doctrees" / "environment.pickle").write_text("env")
    (root / "_build" / "html").mkdir(parents=True, exist_ok=True)


def built(root: Path) -> bool:
    cache = root / "_build" / ".jupyter_cache" / "global.db"
    env = root / "_build" / ".doctrees" / "environment.pickle"
    assert cache.exists() == env.exists()
    return cache.exists()


def run_check(root: Path) -> str:
    """Run the script as `make book` does; return its one line of output."""
    done = subprocess.run(
        [sys.executable, str(TOOL), "library", "--root", str(root)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    return lines[0]


def test_cache_cleared_only_when_the_library_changes(repo):
    assert run_check(repo) == "no notebook cache yet: library state recorded"
    recorded = (repo / "_build" / ".library-hash").read_text().strip()
    assert recorded == book_checks.library_hash(repo) and len(recorded) == 64
    fake_build(repo)

    assert run_check(repo) == "library unchanged since the last build: notebook cache kept"
    assert built(repo)

    core = repo / "propgrad" / "sub" / "core.py"
    core.write_text(core.read_text().replace("SCALE = 1.0", "SCALE = 2.0"))
    assert run_check(repo) == "library changed since the last build: notebook cache cleared"
    assert not built(repo)
    assert (repo / "_build" / "html").is_dir()  # only the cache and environment go
    assert (repo / "_build" / ".library-hash").read_text().strip() != recorded

    fake_build(repo)  # the rebuild with the new library
    assert run_check(repo).startswith("library unchanged")
    assert built(repo)


def test_an_existing_cache_without_a_record_is_cleared(repo):
    fake_build(repo)
    assert run_check(repo).endswith("notebook cache cleared")
    assert not built(repo)
    fake_build(repo)
    assert run_check(repo).startswith("library unchanged")


@pytest.mark.parametrize(
    "change",
    ["edit pyproject", "add module", "remove module", "rename module", "add data file"],
)
def test_what_counts_as_a_library_change(repo, change):
    before = book_checks.library_hash(repo)
    core = repo / "propgrad" / "sub" / "core.py"
    if change == "edit pyproject":
        (repo / "pyproject.toml").write_text('[project]\nname = "propgrad"\nversion = "2"\n')
    elif change == "add module":
        (repo / "propgrad" / "extra.py").write_text("X = 1\n")
    elif change == "remove module":
        core.unlink()
    elif change == "rename module":
        core.rename(core.with_name("kernel.py"))
    else:
        (repo / "propgrad" / "presets.json").write_text("{}")
    assert book_checks.library_hash(repo) != before


def test_bytecode_and_hidden_files_do_not_count(repo):
    before = book_checks.library_hash(repo)
    (repo / "propgrad" / "sub" / "__pycache__").mkdir()
    (repo / "propgrad" / "sub" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"\0")
    (repo / "propgrad" / "sub" / ".core.py.swp").write_bytes(b"\0")
    (repo / "_build").mkdir()
    assert book_checks.library_hash(repo) == before


def test_the_repository_hash_covers_the_real_library():
    files = [p.relative_to(ROOT).as_posix() for p in book_checks._library_files(ROOT)]
    assert "propgrad/__init__.py" in files and "propgrad/sweep.py" in files
    assert "pyproject.toml" in files
    assert not any(f.endswith(".pyc") for f in files)


# ----------------------------------------------------------------------------
# .md / .ipynb pairs
# ----------------------------------------------------------------------------
PAIR_MD = """\
---
jupytext:
  formats: ipynb,md:myst
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A notebook

```{code-cell} ipython3
:tags: [parameters]

n = 3
```

```{code-cell} ipython3
print(n * 2)
```
"""


@pytest.fixture()
def pair(tmp_path):
    """An in-sync pair written by jupytext, as `make sync` would."""
    import jupytext

    md = tmp_path / "notebooks" / "demo.md"
    md.parent.mkdir()
    md.write_text(PAIR_MD)
    jupytext.write(jupytext.read(md), md.with_suffix(".ipynb"))
    return md


def edit_ipynb(md: Path, edit) -> None:
    import nbformat

    ipynb = md.with_suffix(".ipynb")
    nb = nbformat.read(ipynb, as_version=4)
    edit(nb)
    nbformat.write(nb, ipynb)


def run_pairs(*mds: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TOOL), "pairs", *map(str, mds)], capture_output=True, text=True
    )


def test_in_sync_pair_passes_and_outputs_are_ignored(pair):
    assert book_checks.pair_problem(pair) is None

    def add_output_and_kernel_info(nb):
        import nbformat

        nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="6\n")]
        nb.cells[2].execution_count = 1
        nb.metadata["language_info"] = {"name": "python", "version": "3.11"}

    edit_ipynb(pair, add_output_and_kernel_info)
    assert book_checks.pair_problem(pair) is None
    done = run_pairs(pair)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "notebook pairs in sync: 1"


def _change_source(nb):
    nb.cells[2].source = "print(n * 3)"


def _drop_tag(nb):
    nb.cells[1].metadata["tags"] = []


def _drop_cell(nb):
    nb.cells.pop()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_change_source, "cell 3 (code) differs in its source"),
        (_drop_tag, "cell 2 (code) differs in its tags"),
        (_drop_cell, "3 cells in the .md, 2 in the .ipynb"),
    ],
    ids=["source", "tags", "cell count"],
)
def test_out_of_sync_pair_is_reported(pair, edit, message):
    edit_ipynb(pair, edit)
    problem = book_checks.pair_problem(pair)
    assert problem is not None and message in problem
    assert str(pair) in problem and str(pair.with_suffix(".ipynb")) in problem

    before = pair.with_suffix(".ipynb").read_text(), pair.read_text()
    done = run_pairs(pair)
    assert done.returncode == 1
    assert f"out of sync: {problem}" in done.stderr
    assert "make sync" in done.stderr
    # nothing was rewritten
    assert (pair.with_suffix(".ipynb").read_text(), pair.read_text()) == before


def test_only_the_out_of_sync_pair_is_named(pair):
    other = pair.with_name("other.md")
    shutil.copy(pair, other)
    shutil.copy(pair.with_suffix(".ipynb"), other.with_suffix(".ipynb"))
    pair.write_text(PAIR_MD.replace("n = 3", "n = 4"))
    problems = book_checks.pair_problems([pair, other])
    assert len(problems) == 1 and problems[0].startswith(f"{pair} and ")


def test_missing_ipynb_is_reported(pair):
    pair.with_suffix(".ipynb").unlink()
    assert "demo.ipynb is missing" in book_checks.pair_problem(pair)
    assert run_pairs(pair).returncode == 1


# ----------------------------------------------------------------------------
# typed numbers in prose
# ----------------------------------------------------------------------------
def test_typed_numbers_flags_our_results_and_spares_quotes_math_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "---\njupytext: x\n---\n\n# Title\n\n"
        "Our model scores 0.0093 here. The paper reports 0.0082 (its Table 1).\n"
        "A claim: {glue:text}`score:.4f` moves. Math $x = 0.5$ and code `0.25` are fine.\n\n"
        "| table | 0.5 |\n\n"
        "% typed numbers: a setting of the intervention\n"
        "Each edit moves 20 % of the way.\n\n"
        "```python\nprint(0.123)\n```\n\n"
        "Ours reach 85 % while the paper's reach 92 %.\n"
    )
    found = book_checks.typed_numbers(page)
    assert len(found) == 2, found
    assert found[0].endswith("Our model scores 0.0093 here.")
    assert found[0].startswith(f"{page}:7:")
    assert "Ours reach 85 %" in found[1]


def test_book_pages_have_no_typed_result_numbers():
    pages = sorted((ROOT / "notebooks").glob("*.md")) + sorted((ROOT / "book").glob("*.md"))
    assert book_checks.typed_numbers is not None
    found = [line for page in pages for line in book_checks.typed_numbers(page)]
    assert not found, "\n".join(found)
