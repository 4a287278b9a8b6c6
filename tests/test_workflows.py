"""The GitHub Actions workflows (tests, book on Pages) and the launch-button settings.

The workflows must stay valid, use only public actions, and run nothing but
the commands the README documents; the book must not depend on the development
layout (``../shared``); the deploy job needs the Pages permissions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
TEST_WORKFLOW = WORKFLOWS / "test.yml"
BOOK_WORKFLOW = WORKFLOWS / "book.yml"
README = ROOT / "README.md"

# owner/name[/sub-action]@vN: a public action of GitHub's own organisation, pinned
# to a major version
ACTION = re.compile(r"actions/[a-z0-9-]+(/[a-z0-9-]+)?@v\d+")
# a command that builds the book or runs tests; such a step must be exactly one
# of the README's two commands
BUILD_OR_TEST = re.compile(
    r"\b(pytest|jupyter-book|sphinx-build|papermill|nbconvert)\b|\bmake\s+(test|book)"
)


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(workflow, dict), f"{path} is not a YAML mapping"
    # YAML 1.1 reads the bare key `on` as the boolean True
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict):
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield name, step


def strip_comment(line: str) -> str:
    """Drop a shell comment (a ``#`` outside quotes, at the start or after a blank)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def commands(script: str) -> list[str]:
    """The commands of a shell script, one per line (continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [c for c in (strip_comment(line).strip() for line in joined.splitlines()) if c]


def readme_commands() -> set[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```(?:bash|sh|shell|console)\n(.*?)^```", text, re.M | re.S)
    assert blocks, "the README has no shell code blocks"
    return {command for block in blocks for command in commands(block)}


def readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"the README has no section {title!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def workflow_tests() -> dict:
    return load(TEST_WORKFLOW)


@pytest.fixture(scope="module")
def workflow_book() -> dict:
    return load(BOOK_WORKFLOW)


@pytest.mark.parametrize("path", [TEST_WORKFLOW, BOOK_WORKFLOW], ids=lambda p: p.name)
def test_workflow_is_valid(path):
    workflow = load(path)
    assert {"name", "on", "jobs"} <= set(workflow)
    assert workflow["jobs"], f"{path.name} has no jobs"
    for name, job in workflow["jobs"].items():
        assert job.get("runs-on"), f"job {name!r} has no runs-on"
        assert isinstance(job.get("steps"), list) and job["steps"], f"job {name!r} has no steps"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{name}: {step} needs uses or run"
    ids = [step["id"] for _, step in steps(workflow) if "id" in step]
    assert len(ids) == len(set(ids)), f"step ids repeat in {path.name}"


@pytest.mark.parametrize("path", [TEST_WORKFLOW, BOOK_WORKFLOW], ids=lambda p: p.name)
def test_only_public_actions_pinned_to_a_major_version(path):
    used = [step["uses"] for _, step in steps(load(path)) if "uses" in step]
    assert used
    for action in used:
        assert ACTION.fullmatch(action), f"{path.name}: {action!r} is not actions/...@vN"


@pytest.mark.parametrize("path", [TEST_WORKFLOW, BOOK_WORKFLOW], ids=lambda p: p.name)
def test_run_steps_are_readme_commands(path):
    documented = readme_commands()
    for job, step in steps(load(path)):
        if "run" not in step:
            continue
        for command in commands(step["run"]):
            assert command in documented, f"{path.name} ({job}): {command!r} is not in the README"
        if BUILD_OR_TEST.search(step["run"]):
            assert step["run"].strip() in {"make test", "make book"}, (
                f"{path.name} ({job}): a build or test step must be exactly `make test` or "
                f"`make book`, not {step['run']!r}"
            )


def run_list(workflow: dict) -> list[str]:
    return [step["run"].strip() for _, step in steps(workflow) if "run" in step]


def test_the_test_workflow_runs_make_test(workflow_tests):
    on = workflow_tests["on"]
    assert "push" in on and "pull_request" in on
    runs = run_list(workflow_tests)
    assert runs.count("make test") == 1
    fetch = next(i for i, run in enumerate(runs) if "fetch_asset" in run)
    assert runs.index("make install") < fetch < runs.index("make test")
    job = next(iter(workflow_tests["jobs"].values()))
    # the files are fetched first, so a test that misses them must fail, not skip
    assert str(job["env"]["PROPGRAD_REQUIRE_ASSETS"]) == "1"


def test_the_book_workflow_builds_and_deploys(workflow_book):
    on = workflow_book["on"]
    assert on["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in on
    jobs = workflow_book["jobs"]
    build_name, build = next(
        (name, job)
        for name, job in jobs.items()
        if any(s.get("uses", "").startswith("actions/upload-pages-artifact@") for s in job["steps"])
    )
    runs = [s["run"].strip() for s in build["steps"] if "run" in s]
    assert runs.index("make install") < runs.index("make book")
    uses = [s.get("uses", "") for s in build["steps"]]
    upload = build["steps"][next(i for i, u in enumerate(uses) if "upload-pages-artifact" in u)]
    assert upload["with"]["path"] == "_build/html"
    make_book = next(
        i for i, s in enumerate(build["steps"]) if s.get("run", "").strip() == "make book"
    )
    assert make_book < build["steps"].index(upload)

    deploy = next(
        job
        for job in jobs.values()
        if any(s.get("uses", "").startswith("actions/deploy-pages@") for s in job["steps"])
    )
    assert deploy["needs"] in (build_name, [build_name])
    assert deploy["permissions"]["pages"] == "write"
    assert deploy["permissions"]["id-token"] == "write"
    assert deploy["environment"]["name"] == "github-pages"
    # the rest of the workflow only reads the repository
    assert workflow_book["permissions"] == {"contents": "read"}


def cache_steps(job: dict, kind: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(f"actions/cache/{kind}@")]


@pytest.mark.parametrize("path", [TEST_WORKFLOW, BOOK_WORKFLOW], ids=lambda p: p.name)
def test_caches(path):
    workflow = load(path)
    job = next(j for j in workflow["jobs"].values() if any("run" in s for s in j["steps"]))
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    assert setup["with"]["cache"] == "pip"

    restored = {s["with"]["path"].strip(): s for s in cache_steps(job, "restore")}
    cache = job["env"]["PROPGRAD_CACHE"]
    library = "hashFiles('propgrad/**', 'pyproject.toml'"
    if path == BOOK_WORKFLOW:
        # one folder, reused from older commits: it is keyed by configuration
        results = cache
        reused = [".venv", cache, "_build/.jupyter_cache\n_build/.library-hash"]
    else:
        # the tests reuse downloads (checked by sha256) from any commit, but
        # trained models only from the same library code
        results = f"{cache}\n!{cache}/assets"
        reused = [".venv", f"{cache}/assets"]
        assert results in restored, f"{path.name} does not restore {results!r}"
        assert "restore-keys" not in restored[results]["with"]
    for folder in reused:
        assert folder in restored, f"{path.name} does not restore {folder!r}"
        step = restored[folder]
        assert step["with"]["restore-keys"].strip(), f"{folder}: no restore-keys"
    for step in restored.values():
        assert "hashFiles(" in step["with"]["key"]
    assert library in restored[results]["with"]["key"]

    # each restored cache is saved under the key the restore step computed
    saved = {s["with"]["path"].strip(): s for s in cache_steps(job, "save")}
    assert set(saved) == set(restored)
    for folder, step in saved.items():
        restore_id = restored[folder]["id"]
        assert step["with"]["key"] == f"${{{{ steps.{restore_id}.outputs.cache-primary-key }}}}"
        assert f"steps.{restore_id}.outputs.cache-hit != 'true'" in step["if"]


@pytest.mark.parametrize("path", [TEST_WORKFLOW, BOOK_WORKFLOW], ids=lambda p: p.name)
def test_no_development_layout_and_no_index_address(path):
    text = path.read_text(encoding="utf-8")
    workflow = load(path)
    content = yaml.safe_dump(workflow)  # without the comments, which may explain ../shared
    assert "shared" not in content, f"{path.name} refers to the development layout"
    for name, job in workflow["jobs"].items():
        env = job.get("env", {})
        assert "PROPGRAD_ASSETS" not in env, f"{name}: assets must download by URL"
        if any("run" in s for s in job["steps"]):
            assert env.get("PROPGRAD_CACHE"), f"{name}: PROPGRAD_CACHE is not set"
            # the CPU wheel index comes from a repository variable, never the file
            assert env["PIP_EXTRA_INDEX_URL"] == "${{ vars.TORCH_INDEX }}"
    assert "://" not in text, f"{path.name} names an address; use a repository variable"


@pytest.mark.parametrize("path", [TEST_WORKFLOW, BOOK_WORKFLOW], ids=lambda p: p.name)
def test_egl_packages_match_ci_run(path):
    expected = re.search(r'^EGL_PACKAGES="([^"]+)"', (ROOT / ".ci" / "run").read_text(), re.M)
    assert expected
    installs = [
        command
        for run in run_list(load(path))
        for command in commands(run)
        if command.startswith("sudo apt-get install")
    ]
    assert len(installs) == 1
    packages = [word for word in installs[0].split()[3:] if not word.startswith("-")]
    assert packages == expected.group(1).split()


def test_launch_buttons_from_one_repository_setting():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repository = config["repository"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repository["url"])
    assert repository["branch"]
    assert repository["path_to_book"] == ""  # _config.yml is at the repository root
    buttons = config["launch_buttons"]
    assert buttons["binderhub_url"].startswith("https://")
    assert buttons["colab_url"].startswith("https://")
    assert buttons["notebook_interface"] in ("classic", "jupyterlab")


def test_every_chapter_notebook_has_an_ipynb_to_launch():
    # Launch buttons open the .ipynb next to a page's .md when there is one
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    chapters = re.findall(r"file:\s*(notebooks/\S+)", toc)
    assert chapters
    for chapter in chapters:
        assert (ROOT / chapter).with_suffix(".ipynb").is_file(), f"{chapter}.ipynb is missing"


def test_readme_documents_publishing():
    section = readme_section("Publishing the book")
    for needle in (
        "test.yml",
        "book.yml",
        "repository.url",
        "Source: **GitHub",
        "TORCH_INDEX",
        "PIP_EXTRA_INDEX_URL",
        "_build/.jupyter_cache",
        "PROPGRAD_CACHE",
        "sha256",
    ):
        assert needle in section, f"the README's publishing section does not mention {needle!r}"
    for host in re.findall(r"https?://([^/\s`)]+)", section):
        assert host == "github.com" or host.endswith(".github.io"), (
            f"the publishing section names {host!r}; only GitHub's addresses belong there"
        )
    text = README.read_text(encoding="utf-8")
    assert text.index("## Tests") < text.index("## Publishing the book")
