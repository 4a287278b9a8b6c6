"""Launching anywhere: the Binder configuration, the Colab cell, licence and citation.

Neither Binder nor Colab can be reached from the test machine, so these tests
check the configuration's content: what repo2docker reads from ``.binder/``
(parsed the way repo2docker parses it), what the Colab cell would run (its
commands captured, never executed) and that every copy of a setting (EGL
packages, the repository's address, torch's versions, the licence) agrees with
its source.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import types
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from propgrad import colab

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / ".binder"
POSTBUILD = BINDER / "postBuild"
PAPER_TITLE = (
    "Locally Explaining Prediction Behavior via Gradual Interventions and "
    "Measuring Property Gradients"
)


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def ci_egl_packages() -> list[str]:
    match = re.search(r'^EGL_PACKAGES="([^"]+)"', (ROOT / ".ci" / "run").read_text(), re.M)
    assert match, ".ci/run does not set EGL_PACKAGES"
    return match.group(1).split()


def shell_commands(path: Path) -> list[str]:
    """A shell script's commands, one per line (comments dropped, continuations joined)."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def pip_installs(path: Path) -> list[list[str]]:
    """The arguments after ``pip install`` of every pip install command in a script."""
    installs = []
    for command in shell_commands(path):
        words = shlex.split(command)
        for i in range(len(words) - 1):
            if words[i].endswith("pip") and words[i + 1] == "install":
                installs.append(words[i + 2 :])
    return installs


def binder_environment() -> dict:
    """.binder/environment.yml, as conda reads it."""
    return yaml.safe_load((BINDER / "environment.yml").read_text(encoding="utf-8"))


def conda_dependencies() -> dict[str, str]:
    """Name -> version constraint of the conda packages of .binder/environment.yml."""
    found = {}
    for item in binder_environment()["dependencies"]:
        assert isinstance(item, str), f"no pip section in Binder's environment: {item!r}"
        match = re.fullmatch(r"([a-z0-9_.-]+)\s*(.*)", item.strip())
        assert match, f"not a conda package spec: {item!r}"
        found[match.group(1)] = match.group(2).strip()
    return found


# --- Binder (repo2docker reads .binder/ and ignores the top level's environment.yml) ---


def test_binder_configuration_lives_in_dot_binder():
    for name in ("apt.txt", "environment.yml", "postBuild"):
        assert (BINDER / name).is_file(), f".binder/{name} is missing"
    # environment.yml takes their place: repo2docker would ignore them beside it
    for name in ("requirements.txt", "runtime.txt"):
        assert not (BINDER / name).exists(), f".binder/{name} would be ignored"
    # repo2docker refuses a repository with both folders
    assert not (ROOT / "binder").exists()
    # the top level stays as it is: environment.yml for conda users
    assert (ROOT / "environment.yml").is_file()


def test_apt_txt_installs_the_egl_packages():
    packages = []
    for line in (BINDER / "apt.txt").read_text(encoding="utf-8").splitlines():
        package = line.partition("#")[0].strip()  # as repo2docker reads it
        if package:
            assert re.fullmatch(r"[a-z0-9.+-]+", package), f"not a package name: {package!r}"
            packages.append(package)
    assert packages == ci_egl_packages() == ["libegl1", "libegl-mesa0", "libgl1-mesa-dri"]


def test_binder_python_is_the_ci_python():
    python = conda_dependencies()["python"]
    assert python == "=3.11"
    python = python.removeprefix("=")
    assert Version(python) in SpecifierSet(pyproject()["project"]["requires-python"])
    workflow = (ROOT / ".github" / "workflows" / "test.yml").read_text(encoding="utf-8")
    assert f'python-version: "{python}"' in workflow


def test_torch_is_conda_forges_cpu_build():
    environment = binder_environment()
    assert environment["channels"] == ["conda-forge"]
    packages = conda_dependencies()
    # pytorch-cpu is conda-forge's package that pins the CPU build; the plain
    # pytorch (or a pip torch) could resolve to a CUDA build of several GB
    assert set(packages) == {"python", "pip", "pytorch-cpu", "torchvision"}
    extra = {
        Requirement(r).name: Requirement(r)
        for r in pyproject()["project"]["optional-dependencies"]["torch"]
    }
    for conda_name, name in (("pytorch-cpu", "torch"), ("torchvision", "torchvision")):
        assert SpecifierSet(packages[conda_name]) == extra[name].specifier, name
    # postBuild must not replace the CPU build: no torch of its own, no upgrades
    for arguments in pip_installs(POSTBUILD):
        assert not {"-U", "--upgrade", "--force-reinstall", "--index-url"} & set(arguments)
        assert not {"--extra-index-url"} & set(arguments)
        assert not any(re.match(r"torch(vision)?\b", a) for a in arguments), arguments


def test_postbuild_installs_the_package_with_every_extra():
    installs = pip_installs(POSTBUILD)
    assert installs, "postBuild installs nothing"
    assert any(a[a.index("-e") + 1] == ".[all]" for a in installs if "-e" in a), installs
    # .[all] is everything pyproject.toml lists
    extras = pyproject()["project"]["optional-dependencies"]
    (everything,) = extras["all"]
    requirement = Requirement(everything)
    assert requirement.name == "propgrad"
    assert requirement.extras == set(extras) - {"all"}


def test_postbuild_fetches_every_asset(monkeypatch):
    commands = shell_commands(POSTBUILD)
    fetch = [c for c in commands if "fetch_asset" in c]
    assert len(fetch) == 1
    install = next(i for i, c in enumerate(commands) if "pip install" in c)
    assert install < commands.index(fetch[0])
    # the same one-liner as the README and the test workflow
    assert fetch[0] in (ROOT / "README.md").read_text(encoding="utf-8")
    # run its Python with a fetch_asset that only records what it is asked for
    words = shlex.split(fetch[0])
    assert words[:2] == ["python", "-c"]
    import propgrad.assets

    fetched = []
    monkeypatch.setattr(propgrad.assets, "fetch_asset", lambda name, **kw: fetched.append(name))
    exec(words[2], {})
    assert fetched == [asset.name for asset in propgrad.assets.list_assets()]
    assert len(fetched) == len(propgrad.assets.ASSETS)


def test_postbuild_is_an_executable_bash_script():
    text = POSTBUILD.read_text(encoding="utf-8")
    # repo2docker runs it as ./.binder/postBuild (after a chmod +x of its own)
    assert text.splitlines()[0] in ("#!/bin/bash", "#!/usr/bin/env bash")
    assert "set -euo pipefail" in shell_commands(POSTBUILD)  # a failed step fails the build
    subprocess.run(["bash", "-n", str(POSTBUILD)], check=True)
    tracked = subprocess.run(
        ["git", "ls-files", "-s", "--", ".binder/postBuild"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    if tracked:
        assert tracked[0] == "100755", "commit postBuild as executable (git add --chmod=+x)"
    else:
        assert os.access(POSTBUILD, os.X_OK)


# --- Colab ---


class Forbidden(AssertionError):
    pass


def forbid_processes(monkeypatch):
    def refuse(*args, **kwargs):
        raise Forbidden(f"a process was started: {args!r}")

    for name in ("run", "Popen", "call", "check_call", "check_output"):
        monkeypatch.setattr(subprocess, name, refuse)
    monkeypatch.setattr(os, "system", refuse)


def record_runs(monkeypatch) -> list[tuple[object, dict]]:
    calls = []

    def fake_run(args, **kwargs):
        calls.append((args, kwargs))
        return subprocess.CompletedProcess(args, 0)

    forbid_processes(monkeypatch)
    monkeypatch.setattr(subprocess, "run", fake_run)
    return calls


def test_colab_cell_does_nothing_outside_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    forbid_processes(monkeypatch)
    namespace: dict = {}
    exec(colab.COLAB_CELL, namespace)
    assert set(namespace) - {"__builtins__"} == {"subprocess", "sys"}
    monkeypatch.setattr(colab, "repository_settings", lambda *a: pytest.fail("read config"))
    assert colab.in_colab() is False
    assert colab.setup_colab() is False


def test_colab_cell_installs_on_colab(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    calls = record_runs(monkeypatch)
    exec(colab.COLAB_CELL, {})
    repository = config()["repository"]
    url, branch = repository["url"], repository["branch"]

    (pip, pip_kwargs), (apt, apt_kwargs) = calls
    assert pip[:4] == [sys.executable, "-m", "pip", "install"]
    assert pip[-1] == f"propgrad[torch,render,citests] @ git+{url}@{branch}"
    # nothing beside the package: propgrad.claims glues only where myst_nb is importable
    assert pip == [sys.executable, "-m", "pip", "install", "-q", pip[-1]]
    assert pip_kwargs == {"check": True}
    assert apt_kwargs == {"shell": True, "check": True}
    update, install = apt.split(" && ")
    assert update.split()[:2] == ["apt-get", "update"]
    words = install.split()
    assert words[:2] == ["apt-get", "install"] and "-y" in words
    assert [w for w in words[2:] if not w.startswith("-")] == ci_egl_packages()
    assert [pip, apt] == colab.install_commands(url, branch)

    # the module runs the very same commands
    calls.clear()
    assert colab.setup_colab() is True
    assert [args for args, _ in calls] == [pip, apt]
    assert [kwargs["shell"] for _, kwargs in calls] == [False, True]


def test_colab_cell_names_the_repository_of_config_yml():
    repository = config()["repository"]
    found = re.findall(r"git\+(https://[^@\"\s]+)@([^\"\s]+)\"", colab.COLAB_CELL)
    assert found == [(repository["url"], repository["branch"])]
    assert (colab.REPOSITORY_URL, colab.BRANCH) == (repository["url"], repository["branch"])
    assert colab.repository_settings() == (repository["url"], repository["branch"])
    assert colab.COLAB_CELL == colab.colab_cell(repository["url"], repository["branch"])


def test_repository_settings_reads_config_files(tmp_path):
    path = tmp_path / "_config.yml"
    path.write_text(
        "title: x\nrepository:\n  # the address\n  url: 'https://github.com/a/b'  # here\n\n"
        "  branch: dev\nlaunch_buttons:\n  url: https://example.org\n",
        encoding="utf-8",
    )
    assert colab.repository_settings(path) == ("https://github.com/a/b", "dev")
    path.write_text("repository:\n  url: https://github.com/a/b\n", encoding="utf-8")
    assert colab.repository_settings(path) == ("https://github.com/a/b", "main")
    path.write_text("html:\n  url: https://github.com/a/b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="repository.url"):
        colab.repository_settings(path)


def test_colab_cell_is_short_and_its_settings_agree():
    lines = colab.COLAB_CELL.splitlines()
    assert len(lines) <= 8 and lines[0].startswith("#")
    # plain Python: propgrad is not installed yet when the cell runs on Colab
    tree = ast.parse(colab.COLAB_CELL)
    imported = {
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    }
    assert imported == {"subprocess", "sys"}
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))
    assert list(colab.EGL_PACKAGES) == ci_egl_packages()
    assert set(colab.EXTRAS) <= set(pyproject()["project"]["optional-dependencies"])


def _top_level_imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _installed_closure(name: str, extras: set[str]) -> set[str]:
    """The distributions ``pip install name[extras]`` brings in, from installed metadata."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.utils import canonicalize_name

    seen, todo = set(), [(name, frozenset(extras))]
    while todo:
        dist, wanted = todo.pop()
        if (canonicalize_name(dist), wanted) in seen:
            continue
        seen.add((canonicalize_name(dist), wanted))
        try:
            found = requires(dist) or []
        except PackageNotFoundError:
            continue
        for requirement in map(Requirement, found):
            environments = [{"extra": extra} for extra in (wanted or {""})]
            if requirement.marker is None or any(
                requirement.marker.evaluate(env) for env in environments
            ):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return {dist for dist, _ in seen}


def test_colab_extras_provide_every_library_a_chapter_imports():
    """What the library and the notebooks import is installed by the Colab cell's extras.

    Colab has no checkout: a library that only ``[all]`` brings (e.g. tigramite for
    the Cats-vs-Dogs chapter's Table 9) would fail there in the middle of a chapter.
    """
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    jupytext = pytest.importorskip("jupytext")
    names = set()
    for path in (ROOT / "propgrad").rglob("*.py"):
        names |= _top_level_imports(path.read_text(encoding="utf-8"))
    for path in (ROOT / "notebooks").glob("*.md"):
        for cell in jupytext.read(path).cells:
            if cell.cell_type == "code":
                names |= _top_level_imports(cell.source)
    optional = {
        "myst_nb": "the book build only: propgrad.claims glues only where it imports",
        "dask": "cluster=... only (extra 'cluster')",
        "IPython": "part of every Jupyter kernel",
    }
    third_party = {n for n in names if n not in sys.stdlib_module_names} - {"propgrad"}
    installed = _installed_closure("propgrad", set(colab.EXTRAS))
    distributions = packages_distributions()
    missing = []
    for module in sorted(third_party - set(optional)):
        provided_by = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not provided_by & installed:
            missing.append(f"{module} ({', '.join(sorted(provided_by)) or 'not installed here'})")
    assert not missing, f"not installed by propgrad[{','.join(colab.EXTRAS)}]: {missing}"
    assert {"tigramite", "torch", "moderngl"} <= third_party


def test_colab_module_imports_nothing_heavy():
    code = (
        "import sys, propgrad.colab; "
        "heavy = {'torch', 'yaml', 'matplotlib', 'scipy'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def first_code_cell(path: Path) -> tuple[str, list[str]]:
    """Source and tags of a notebook's first code cell (.md via jupytext, or .ipynb)."""
    if path.suffix == ".md":
        jupytext = pytest.importorskip("jupytext")
        cells = jupytext.read(path).cells
        code = [c for c in cells if c.cell_type == "code"]
        return code[0].source, list(code[0].metadata.get("tags", []))
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    cell = next(c for c in cells if c["cell_type"] == "code")
    source = cell["source"]
    return ("".join(source) if isinstance(source, list) else source), cell["metadata"].get(
        "tags", []
    )


def test_every_notebook_starts_with_the_colab_cell():
    notebooks = sorted((ROOT / "notebooks").glob("*.md")) + sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    )
    assert notebooks
    assert {p.stem for p in notebooks if p.suffix == ".md"} == {
        p.stem for p in notebooks if p.suffix == ".ipynb"
    }  # every chapter as a .md and its .ipynb twin
    cells = {path.name: first_code_cell(path) for path in notebooks}
    for name, (source, tags) in cells.items():
        assert source.strip() == colab.COLAB_CELL, f"{name}: the first code cell is not COLAB_CELL"
        assert "remove-cell" in tags, f"{name}: the Colab cell is not tagged remove-cell"
        assert "parameters" not in tags, f"{name}: papermill's parameters cell comes next"


def test_the_colab_cell_precedes_the_parameters_cell():
    """papermill injects after the cell tagged `parameters`, which stays the second code cell."""
    jupytext = pytest.importorskip("jupytext")
    for path in sorted((ROOT / "notebooks").glob("*.md")):
        code = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
        tags = [c.metadata.get("tags", []) for c in code]
        assert "parameters" in tags[1], f"{path.name}: the parameters cell is not the second"
        assert sum("parameters" in t for t in tags) == 1


def test_book_css_wraps_code_cells():
    """The stylesheet _config.yml names exists and wraps the inputs of code cells."""
    sphinx = config()["sphinx"]["config"]
    folders = [ROOT / folder for folder in sphinx["html_static_path"]]
    for name in sphinx["html_css_files"]:
        found = [folder / name for folder in folders if (folder / name).is_file()]
        assert found, f"{name} is in none of {sphinx['html_static_path']}"
    css = (ROOT / "book" / "_static" / "wrap.css").read_text(encoding="utf-8")
    rule = re.search(r"div\.cell_input pre\s*\{([^}]*)\}", css)
    assert rule and "white-space: pre-wrap" in rule.group(1)


# --- licence and citation ---


def test_license_is_mit_as_an_spdx_expression():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the propgrad contributors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    project = pyproject()
    assert project["project"]["license"] == "MIT"
    assert project["project"]["license-files"] == ["LICENSE"]
    (setuptools,) = [Requirement(r) for r in project["build-system"]["requires"]]
    # setuptools reads SPDX expressions (PEP 639) from version 77 on
    assert setuptools.name == "setuptools"
    assert Version("77") in setuptools.specifier and Version("76.9") not in setuptools.specifier


@pytest.mark.skipif(
    Version(version("setuptools")) < Version("77"),
    reason="the installed setuptools is older than 77",
)
def test_metadata_carries_the_license_expression(tmp_path):
    for name in ("pyproject.toml", "LICENSE", "README.md"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / "propgrad").mkdir()
    (tmp_path / "propgrad" / "__init__.py").touch()
    code = (
        "import setuptools.build_meta as b, pathlib; "
        "out = pathlib.Path('out'); out.mkdir(); "
        "print((out / b.prepare_metadata_for_build_wheel('out') / 'METADATA').read_text())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    metadata = result.stdout
    assert "License-Expression: MIT\n" in metadata
    assert "License-File: LICENSE\n" in metadata
    assert "\nLicense: " not in metadata  # the old free-text field is gone


def test_citation_cff_cites_the_paper():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] == "software"
    project = pyproject()["project"]
    assert cff["license"] == project["license"] == "MIT"
    assert cff["version"] == project["version"]
    assert cff["title"] == config()["title"]
    paper = cff["preferred-citation"]
    assert paper["type"] == "conference-paper"
    assert " ".join(paper["title"].split()) == PAPER_TITLE
    authors = [(a["given-names"], a["family-names"]) for a in paper["authors"]]
    assert authors == [("Niklas", "Penzel"), ("Joachim", "Denzler")]
    assert paper["year"] == 2026
    assert "WACV" in paper["conference"]["name"]
    assert paper["doi"] == "10.48550/arXiv.2503.05424"
    assert "2503.05424" in paper["url"]
    # the same paper as the one the assets credit
    from propgrad.assets import PAPER_CITATION

    assert PAPER_TITLE in " ".join(PAPER_CITATION.split())


def test_readme_explains_the_launches():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Launching on Binder or Colab\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "the README has no section 'Launching on Binder or Colab'"
    section = match.group(1)
    for needle in (
        ".binder/",
        "apt.txt",
        "postBuild",
        "COLAB_CELL",
        "repository.url",
        "remove-cell",
    ):
        assert needle in section, f"the launch section does not mention {needle!r}"
