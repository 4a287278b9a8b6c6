"""Named parameter sets ("profiles") for the notebooks.

Every notebook has one ``parameters`` cell with plain literals. Its ``profile``
names a set of defaults (``smoke``, ``demo`` or ``paper``); any other parameter
left at ``None`` takes the profile's value, and any parameter given explicitly
(for example with ``papermill -p n_permutations 1000``) wins over the profile.

The ``paper`` profile reads data and weights that only the user has. Each
chapter lists them as :class:`PaperInput` records, and the notebook's first
cell after the parameters calls :func:`check_inputs`, which stops with one
:class:`MissingInputsError` naming every missing or invalid input before
anything is trained or downloaded.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

PROFILE_NAMES = ("smoke", "demo", "paper")


def resolve_profile(
    profiles: Mapping[str, Mapping[str, Any]],
    profile: str,
    namespace: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> SimpleNamespace:
    """Merge a named profile with explicit overrides.

    Parameters
    ----------
    profiles : mapping
        Profile name -> mapping of parameter name -> value.
    profile : str
        The profile to use; must be a key of ``profiles``.
    namespace : mapping, optional
        Where a notebook's parameters live (pass ``globals()``): every name a
        profile defines is taken from it as an override. Saves listing each
        parameter twice.
    **overrides
        Explicit parameter values. ``None`` means "use the profile's value".
        A name that no profile defines is an error, so typos do not pass
        silently.

    Returns
    -------
    types.SimpleNamespace
        The resolved parameters, plus ``profile`` (the profile's name).

    Raises
    ------
    ValueError
        If ``profile`` is unknown or an override names an unknown parameter.

    Examples
    --------
    >>> profiles = {"smoke": {"k": 100}, "demo": {"k": 10_000}}
    >>> resolve_profile(profiles, "smoke", k=None).k
    100
    >>> resolve_profile(profiles, "smoke", k=5).k
    5
    >>> resolve_profile(profiles, "demo", {"k": None, "other": 1}).k
    10000
    """
    if profile not in profiles:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(profiles)}")
    values = dict(profiles[profile])
    known = set().union(*(p.keys() for p in profiles.values()))
    if namespace is not None:
        overrides = {**{k: namespace[k] for k in known if k in namespace}, **overrides}
    for name, value in overrides.items():
        if name not in known:
            raise ValueError(
                f"parameter {name!r} is not defined by any profile; known: {sorted(known)}"
            )
        if value is not None:
            values[name] = value
    return SimpleNamespace(profile=profile, **values)


# ---------------------------------------------------------------------------
# the paper profile's inputs, checked before anything runs

#: Kinds of :class:`PaperInput`: what a parameter's value must be.
FOLDER = "folder"
FILE = "file"
HUB_ID_OR_FOLDER = "hub id or folder"
NAME_OR_FILE = "name or file"
INPUT_KINDS = (FOLDER, FILE, HUB_ID_OR_FOLDER, NAME_OR_FILE)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class PaperInput:
    """One input the ``paper`` profile needs: a notebook parameter naming data or weights.

    Parameters
    ----------
    name : str
        The notebook parameter (``data_dir``, ``clip_weights``, ...).
    kind : str
        What its value must be: ``"folder"``, ``"file"``, ``"hub id or
        folder"`` (a model on the Hugging Face hub, which cannot be checked
        offline, or a local folder, which is checked) or ``"name or file"``
        (a name, not checked, or a path of a file, checked when the value
        looks like a path or ends with one of ``suffixes``).
    layout : str
        The expected layout, in one sentence (what the folder holds, the
        file's columns).
    source : str
        Where the paper got it (dataset, release, address).
    contains : tuple of str, optional
        For a folder: entries it must hold, relative to it. ``"name/"`` is a
        subfolder, a pattern with ``*``, ``?`` or ``[`` must match at least
        one entry (:meth:`pathlib.Path.glob`), anything else is a file.
    check : callable, optional
        Further checks, ``check(value, namespace) -> list of problems`` (short
        phrases, empty when all is well), called with a :class:`~pathlib.Path`
        once the kind and ``contains`` hold, or with the mapping itself when
        ``mapping`` allows one; ``namespace`` holds the notebook's parameters
        (e.g. the architectures whose weights must be there).
    mapping : bool, optional
        Whether a mapping (e.g. ``{label: weights file}``) may stand in for
        the folder; only ``check`` looks at it.
    suffixes : tuple of str, optional
        For ``"name or file"``: file suffixes that make a value a path
        (e.g. ``(".json",)``).
    needed_for : str, optional
        The part of the chapter that needs it, when not all of it does.
    """

    name: str
    kind: str
    layout: str
    source: str
    contains: tuple[str, ...] = ()
    check: Callable[[Any, Mapping[str, Any]], list[str]] | None = None
    mapping: bool = False
    suffixes: tuple[str, ...] = ()
    needed_for: str = ""

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; choose one of {INPUT_KINDS}")

    def describe(self) -> str:
        """The expected value and where the paper got it, as one sentence (for messages)."""
        needed = f" Needed for {self.needed_for}." if self.needed_for else ""
        return f"Expected: {self.layout}.{needed} The paper: {self.source}."


class MissingInputsError(ValueError):
    """The ``paper`` profile lacks inputs, or some are not what they must be.

    Raised by :func:`check_inputs` before anything is trained or downloaded.
    Its message has one line per problem: the parameter, what is wrong, the
    expected layout and where the paper got it.

    Attributes
    ----------
    problems : list of tuple
        ``(parameter name, what is wrong)`` per problem, in the chapter's order.
    notes : list of str
        Inputs that were not checked (a hub id cannot be checked offline).
    """

    def __init__(self, message: str, problems: list[tuple[str, str]], notes: list[str]) -> None:
        super().__init__(message)
        self.problems = problems
        self.notes = notes

    @property
    def names(self) -> list[str]:
        """The parameters with a problem, in the chapter's order."""
        return [name for name, _ in self.problems]


def looks_like_path(value: Any) -> bool:
    """Say whether a value can only be a local path, not a hub id or a model name.

    Parameters
    ----------
    value : str or path-like
        The value of a parameter.

    Returns
    -------
    bool
        True for a :class:`os.PathLike`, an absolute path, one starting with
        ``.`` or ``~``, one with a backslash or more than one ``/``, and any
        existing file or folder.

    Examples
    --------
    >>> looks_like_path("timbrooks/instruct-pix2pix"), looks_like_path("/models/ip2p")
    (False, True)
    """
    if isinstance(value, os.PathLike):
        return True
    text = str(value)
    return (
        os.path.isabs(text)
        or text.startswith((".", "~"))
        or "\\" in text
        or text.count("/") > 1
        or Path(text).expanduser().exists()
    )


def _missing_entries(folder: Path, contains: tuple[str, ...]) -> list[str]:
    missing = []
    for entry in contains:
        if entry.endswith("/"):
            ok = (folder / entry).is_dir()
        elif any(c in entry for c in "*?["):
            ok = next(iter(folder.glob(entry)), None) is not None
        else:
            ok = (folder / entry).is_file()
        if not ok:
            missing.append(entry)
    return missing


def _problem(item: PaperInput, value: Any, namespace: Mapping[str, Any]) -> tuple[str | None, str]:
    """What is wrong with one value (None when nothing is), and a note when it was not checked."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "not given", ""
    if isinstance(value, Mapping):
        if not item.mapping:
            return f"a mapping, but a {item.kind} is needed", ""
        found = item.check(value, namespace) if item.check else []
        return ("; ".join(found) or None), ""
    if not isinstance(value, (str, os.PathLike)):
        return f"{type(value).__name__} {value!r} is not a {item.kind}", ""
    text = os.fspath(value)
    if item.kind == HUB_ID_OR_FOLDER and not looks_like_path(value):
        if not _HUB_ID.match(text):
            return f"{text!r} is neither a hub id (namespace/name) nor an existing folder", ""
        return None, (
            f"{item.name} = {text!r} is a hub id: it cannot be checked offline and is "
            "downloaded on first use (a local folder instead is checked here)"
        )
    if item.kind == NAME_OR_FILE and not (
        looks_like_path(value) or text.lower().endswith(tuple(s.lower() for s in item.suffixes))
    ):
        return None, ""
    path = Path(text).expanduser()
    want_folder = item.kind in (FOLDER, HUB_ID_OR_FOLDER)
    if not path.exists():
        return f"{path} does not exist", ""
    if want_folder and not path.is_dir():
        return f"{path} is a file, a folder is needed", ""
    if not want_folder and not path.is_file():
        return f"{path} is a folder, a file is needed", ""
    if want_folder:
        missing = _missing_entries(path, item.contains)
        if missing:
            return f"{path} lacks {', '.join(missing)}", ""
    found = item.check(path, namespace) if item.check else []
    return ("; ".join(found) or None), ""


def check_inputs(
    profile: str, requirements: Sequence[PaperInput], namespace: Mapping[str, Any]
) -> list[str]:
    """Check every input the ``paper`` profile needs, before anything runs.

    Nothing is checked at any other profile. At the ``paper`` profile each
    requirement's parameter is looked up in ``namespace`` (a notebook passes
    ``globals()``; a name that is absent counts as not given) and checked
    against its kind, layout and extra checks, all of them, so that one run
    names every problem at once.

    Parameters
    ----------
    profile : str
        The notebook's profile.
    requirements : sequence of PaperInput
        What the chapter needs at the paper profile, in the order to report.
    namespace : mapping
        The notebook's parameters.

    Returns
    -------
    list of str
        Notes on inputs that could not be checked (a hub id offline); empty
        when none, and always empty at profiles other than ``paper``.

    Raises
    ------
    MissingInputsError
        At the ``paper`` profile, when an input is missing or invalid; the
        message has one line per problem (parameter, what is wrong, expected
        layout, where the paper got it).

    Examples
    --------
    >>> need = [PaperInput("data_dir", "folder", "a folder holding images/", "a dataset")]
    >>> check_inputs("demo", need, {"data_dir": None})
    []
    >>> try:
    ...     check_inputs("paper", need, {"data_dir": None})
    ... except MissingInputsError as error:
    ...     print(error.names)
    ['data_dir']
    """
    if profile != "paper":
        return []
    problems, notes, lines = [], [], []
    for item in requirements:
        value = namespace.get(item.name)
        problem, note = _problem(item, value, namespace)
        if note:
            notes.append(note)
        if problem is not None:
            problems.append((item.name, problem))
            lines.append(f"- {item.name} ({item.kind}): {problem}. {item.describe()}")
    if problems:
        count = len(problems)
        verb = "input that is" if count == 1 else "inputs that are"
        head = (
            f"The paper profile needs {count} {verb} missing or invalid (checked before "
            "anything is trained or downloaded). Give each as a parameter, e.g. "
            "papermill -p NAME VALUE:"
        )
        tail = [f"Not checked: {note}." for note in notes]
        raise MissingInputsError("\n".join([head, *lines, *tail]), problems, notes)
    return notes


def csv_columns(*columns: str, file: str | None = None) -> Callable[[Any, Mapping], list[str]]:
    """A :class:`PaperInput` check: a CSV file whose header names the given columns.

    Parameters
    ----------
    *columns : str
        The columns it must have (others are allowed).
    file : str, optional
        The CSV's path inside a folder input (``"metadata.csv"``); by default
        the input is the CSV itself.

    Returns
    -------
    callable
        ``check(path, namespace) -> list of problems``: one problem naming the
        missing columns, or none. Reads the header line only.
    """

    def check(value: Any, namespace: Mapping[str, Any]) -> list[str]:
        path = Path(value) / file if file else Path(value)
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            header = next(csv.reader(handle), [])
        missing = [c for c in columns if c not in {h.strip() for h in header}]
        if missing:
            found = ",".join(h.strip() for h in header) or "nothing"
            return [f"{path.name} lacks the column(s) {','.join(missing)} (its header: {found})"]
        return []

    return check


def imagenet_weights(
    architectures: Callable[[Mapping[str, Any]], Mapping[str, str]],
) -> Callable[[Any, Mapping], list[str]]:
    """A :class:`PaperInput` check: one ImageNet weights file per architecture.

    The files are looked for as :func:`propgrad.pretrain.find_imagenet_weights`
    does: in a folder as ``<timm name>.safetensors`` (or ``.pth``, ``.bin``,
    ``<timm name>/model.safetensors``, ...), or in a mapping by paper label
    or timm name.

    Parameters
    ----------
    architectures : callable
        ``architectures(namespace) -> {paper label: timm name}``: the models
        the notebook will start from ImageNet weights, read from its
        parameters (a user may have chosen other architectures).

    Returns
    -------
    callable
        ``check(folder or mapping, namespace) -> list of problems``: one
        problem naming every architecture without a file, or none.
    """

    def check(value: Any, namespace: Mapping[str, Any]) -> list[str]:
        from propgrad.pretrain import WEIGHT_NAMES

        try:
            wanted = dict(architectures(namespace))
        except (KeyError, TypeError, ValueError) as error:
            return [f"cannot tell which architectures need weights ({error})"]
        missing = []
        for label, arch in wanted.items():
            if isinstance(value, Mapping):
                given = value.get(label, value.get(arch))
                ok = given is not None and Path(given).expanduser().is_file()
            else:
                ok = any((Path(value) / n.format(arch=arch)).is_file() for n in WEIGHT_NAMES)
            if not ok:
                missing.append(f"{label} ({arch})")
        if not missing:
            return []
        if isinstance(value, Mapping):
            return [f"no weights file given for {', '.join(missing)}"]
        return [f"no <timm name>.safetensors (or .pth, .bin) for {', '.join(missing)}"]

    return check
