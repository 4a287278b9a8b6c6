"""Package-level promises: cheap import, public names, book wiring."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_does_not_load_torch():
    code = (
        "import sys, propgrad; "
        "propgrad.expected_property_gradient([0.0, 1.0]); propgrad.shuffle_test; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


#: names the book and users' code call at the top level (the redesign keeps them)
REQUIRED_TOP_LEVEL = {
    "Sweep", "expected_property_gradient", "property_gradients", "fornberg_weights",
    "shuffle_test", "prediction_flips", "predict", "score_models", "explain",
    "alpha_blend_sweep", "load_mesh", "render_rotation", "run_tasks",
}  # fmt: skip


def test_top_level_api_is_small_and_keeps_the_method():
    import propgrad

    names = set(propgrad.__all__) - {"__version__"}
    assert len(names) <= 30, sorted(names)
    assert REQUIRED_TOP_LEVEL <= names, sorted(REQUIRED_TOP_LEVEL - names)


def test_the_core_never_imports_a_chapter():
    import re

    root = Path(propgrad_dir())
    pattern = re.compile(r"^\s*(from|import)\s+propgrad\.chapters", re.M)
    offenders = [
        str(path.relative_to(root.parent))
        for path in root.rglob("*.py")
        if "chapters" not in path.relative_to(root).parts and pattern.search(path.read_text())
    ]
    assert not offenders, offenders


def propgrad_dir():
    import propgrad

    return Path(propgrad.__file__).parent


def test_every_public_name_resolves():
    import propgrad

    for name in propgrad.__all__:
        assert getattr(propgrad, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        propgrad.nope  # noqa: B018


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("fornberg_weights", ["x0", "grid", "order"]),
        ("property_gradients", ["outputs", "grid", "accuracy"]),
        ("expected_property_gradient", ["outputs", "grid", "accuracy"]),
        ("prediction_flips", ["outputs"]),
        ("shuffle_test", ["outputs", "n_permutations", "alpha", "seed", "statistic"]),
    ],
)
def test_public_signatures(name, params):
    import propgrad

    signature = inspect.signature(getattr(propgrad, name))
    assert list(signature.parameters)[: len(params)] == params


def test_shuffle_test_defaults():
    import propgrad

    defaults = {
        k: v.default for k, v in inspect.signature(propgrad.shuffle_test).parameters.items()
    }
    assert defaults["n_permutations"] == 10_000
    assert defaults["alpha"] == 0.01
    assert defaults["seed"] is None
    assert defaults["statistic"] == "gradient"


def _toc_files():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_toc_files_exist():
    for entry in _toc_files():
        candidates = [ROOT / f"{entry}.md", ROOT / f"{entry}.ipynb"]
        assert any(p.exists() for p in candidates), f"{entry} listed in _toc.yml is missing"


@pytest.mark.parametrize("md", sorted((ROOT / "notebooks").glob("*.md")), ids=lambda p: p.name)
def test_notebooks_are_paired_and_in_sync(md):
    """The same check `make book` runs (tools/book_checks.py)."""
    import nbformat
    from test_book_build import book_checks

    problem = book_checks.pair_problem(md)
    assert problem is None, f"{problem}: run `make sync`"
    paired_nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    tagged = [c for c in paired_nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must carry the `parameters` tag"
    assert "profile = " in tagged[0].source


def test_exported_functions_are_not_shadowed_by_submodules():
    """``propgrad.predict`` and ``propgrad.explain`` stay functions after any import.

    A submodule named like an exported function would replace it on the package
    as soon as something imported the submodule; the modules are therefore
    named ``prediction`` and ``explanation``.
    """
    import importlib

    import propgrad

    for module in ("propgrad.prediction", "propgrad.explanation", "propgrad.scores"):
        importlib.import_module(module)
    assert callable(propgrad.predict) and propgrad.predict.__name__ == "predict"
    assert callable(propgrad.explain) and propgrad.explain.__name__ == "explain"
    exported_modules = {name.rsplit(".", 1)[-1] for name in propgrad._EXPORTS.values()}
    assert not exported_modules & set(propgrad._EXPORTS), "a module is named like an export"
