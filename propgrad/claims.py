"""Claims: sentences about results that are computed, not typed.

A page that reports results says things like "the biased models react to fur
far more than to the background". Such a sentence is only true for the numbers
it was written against. A :class:`Claim` states it once, together with the
condition that makes it true and the sentence to show when it is false:

>>> claim = Claim(
...     "fur_beats_background",
...     condition=lambda r: r["fur"] > r["background"],
...     holds="Fur moves the output {ratio:.1f} times as much as the background.",
...     fails="Fur does **not** move the output more than the background "
...     "(E = {fur:.3f} against {background:.3f}).",
...     values=lambda r: {"ratio": r["fur"] / r["background"]},
... )
>>> claim.evaluate({"fur": 0.3, "background": 0.1}).text
'Fur moves the output 3.0 times as much as the background.'
>>> claim.evaluate({"fur": 0.1, "background": 0.3}).holds
False

A chapter keeps its claims in one list, evaluates them on its results record
with :func:`check_claims`, and its page pastes each claim where it belongs
with myst-nb's glue directive (``{glue:md}`` with ``:format: myst``) under the
key ``claim-<id>``; another page (the book's introduction) pastes its plain
text with ``{glue:text}`../notebooks/<chapter>.md::claim-<id>:s```.
Whatever the parameters, the page therefore says what the numbers on it say:
a claim that fails is shown as a "does not hold at these parameters"
admonition naming its numbers, and the results record gets
``claims: {id: true/false}`` for the tests.

Numbers that a sentence quotes from a result are glued too
(:func:`glue_values`, pasted with ``{glue:text}`key:.3f```), never typed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np

__all__ = [
    "Claim",
    "ClaimResult",
    "check_claims",
    "claims_table",
    "glue_values",
    "GLUE_PREFIX",
]

GLUE_PREFIX = "claim-"
"""Glue key of a claim: ``GLUE_PREFIX + claim.id``."""

FAILS_TITLE = "Does not hold at these parameters"
"""Title of the admonition shown for a claim that does not hold."""

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ClaimResult:
    """A claim evaluated on one results record.

    Attributes
    ----------
    id : str
        The claim's id.
    holds : bool
        Whether its condition is true on the record.
    text : str
        The sentence for this outcome, with its numbers filled in (MyST).
    values : dict
        The named numbers the sentences could use.
    """

    id: str
    holds: bool
    text: str
    values: dict[str, Any] = field(repr=False, default_factory=dict)

    def markdown(self) -> str:
        """The text as it appears on the page (MyST Markdown).

        A claim that holds is its sentence; one that fails is an admonition
        titled :data:`FAILS_TITLE` around its "fails" sentence, so a reader
        sees at once that the prose and the numbers part ways.
        """
        if self.holds:
            return self.text
        return f"```{{admonition}} {FAILS_TITLE}\n:class: warning\n{self.text}\n```\n"

    def _repr_markdown_(self) -> str:
        return self.markdown()


@dataclass(frozen=True)
class Claim:
    """A qualitative statement about results, with a sentence for each outcome.

    Parameters
    ----------
    id : str
        Lower-case identifier (letters, digits, ``_``), unique on its page; the
        results record and the glue key (``claim-<id>``) use it.
    condition : callable
        ``condition(record) -> bool``: whether the statement is true on the
        results record (a mapping such as ``Results.values``).
    holds : str
        The sentence when the condition is true: a format string (MyST
        Markdown) over ``values(record)`` and the record's own keys.
    fails : str
        The sentence when it is false, naming the numbers that contradict the
        statement; shown inside a warning admonition.
    values : callable, optional
        ``values(record) -> dict`` of named numbers for the sentences.

    Raises
    ------
    ValueError
        If ``id`` is not a lower-case identifier or a sentence is empty.
    """

    id: str
    condition: Callable[[Mapping[str, Any]], Any]
    holds: str
    fails: str
    values: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise ValueError(
                f"a claim id must be a lower-case identifier (letters, digits, _), got {self.id!r}"
            )
        for name in ("holds", "fails"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"claim {self.id!r}: the {name!r} sentence must not be empty")

    def evaluate(self, record: Mapping[str, Any]) -> ClaimResult:
        """Evaluate the condition and fill in the sentence for its outcome.

        Parameters
        ----------
        record : mapping
            The results record (e.g. ``Results.values``).

        Returns
        -------
        ClaimResult

        Raises
        ------
        KeyError
            If the condition or the values need a key the record lacks (the
            message names the claim and the key).
        ValueError
            If the condition is not a truth value (NaN, an array of several
            values, ``None``).
        """
        try:
            values = dict(self.values(record)) if self.values is not None else {}
            outcome = self.condition(record)
        except KeyError as exc:
            raise KeyError(
                f"claim {self.id!r} needs the results key {exc.args[0]!r}, which was not "
                "recorded; record it before checking the claims"
            ) from None
        holds = _truth(outcome, self.id)
        template = self.holds if holds else self.fails
        try:
            text = template.format(**{**record, **_plain(values)})
        except (KeyError, IndexError) as exc:
            raise KeyError(
                f"claim {self.id!r}: its {'holds' if holds else 'fails'} sentence uses "
                f"{exc.args[0]!r}, which is neither a value nor a results key"
            ) from None
        return ClaimResult(self.id, holds, text, values)


def _truth(outcome: Any, claim_id: str) -> bool:
    """A condition's value as a bool; NaN, None and arrays are errors."""
    if isinstance(outcome, np.ndarray):
        if outcome.size != 1:
            raise ValueError(
                f"claim {claim_id!r}: its condition gave an array of {outcome.size} values; "
                "reduce it with all() or any()"
            )
        outcome = outcome.item()
    if outcome is None:
        raise ValueError(f"claim {claim_id!r}: its condition gave None, not a truth value")
    if isinstance(outcome, Real) and not isinstance(outcome, (bool, np.bool_)):
        if math.isnan(float(outcome)):
            raise ValueError(f"claim {claim_id!r}: its condition gave NaN, not a truth value")
    return bool(outcome)


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return numpy scalars as Python numbers (so format specs such as ``:.3f`` work)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in values.items()}


def check_claims(
    claims: Iterable[Claim],
    results: Any,
    *,
    glue: bool | None = None,
) -> dict[str, ClaimResult]:
    """Evaluate a page's claims on its results, record and glue them.

    Parameters
    ----------
    claims : iterable of Claim
        The page's claims (ids must be unique).
    results : propgrad.Results or mapping
        The results record. With a :class:`propgrad.record.Results`, the
        outcomes are added to it as ``claims: {id: bool}`` (merged with claims
        recorded before).
    glue : bool, optional
        Glue each claim's Markdown under ``claim-<id>`` for the book (myst-nb).
        By default only inside a running IPython kernel.

    Returns
    -------
    dict
        Claim id -> :class:`ClaimResult`, in the given order.

    Raises
    ------
    ValueError
        If two claims share an id.
    """
    claims = list(claims)
    seen: set[str] = set()
    for claim in claims:
        if claim.id in seen:
            raise ValueError(f"two claims share the id {claim.id!r}")
        seen.add(claim.id)
    record = results.values if hasattr(results, "values") and hasattr(results, "add") else results
    evaluated = {claim.id: claim.evaluate(record) for claim in claims}
    if hasattr(results, "add"):
        previous = dict(record.get("claims", {}))
        results.add(claims={**previous, **{i: r.holds for i, r in evaluated.items()}})
    if glue is None:
        glue = _in_kernel()
    if glue:
        from myst_nb import glue as nb_glue

        for i, r in evaluated.items():
            nb_glue(GLUE_PREFIX + i, _Pasted(r), display=False)
    return evaluated


def claims_table(evaluated: Mapping[str, ClaimResult]) -> Any:
    """A table of evaluated claims: id, whether it holds, the sentence shown.

    Parameters
    ----------
    evaluated : mapping
        The result of :func:`check_claims`.

    Returns
    -------
    pandas.DataFrame
        Indexed by claim id, columns ``holds`` and ``statement``.
    """
    import pandas as pd

    rows = {i: {"holds": r.holds, "statement": r.text} for i, r in evaluated.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("claim")


def glue_values(glue: bool | None = None, **values: Any) -> dict[str, Any]:
    """Glue named numbers for the page's prose (``{glue:text}`name:.3f```).

    numpy scalars become Python numbers first, so myst-nb's format specs
    apply to them.

    Parameters
    ----------
    glue : bool, optional
        Glue for the book; by default only inside a running IPython kernel.
    **values
        Name -> number (or short text).

    Returns
    -------
    dict
        The glued values (as Python objects).

    Raises
    ------
    ValueError
        If a value is not a finite number, a bool or a string.
    """
    plain = _plain(values)
    for name, value in plain.items():
        if isinstance(value, (bool, str)):
            continue
        if not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"glued value {name!r} must be a finite number, got {value!r}")
    if glue is None:
        glue = _in_kernel()
    if glue:
        from myst_nb import glue as nb_glue

        for name, value in plain.items():
            nb_glue(name, value, display=False)
    return plain


class _Pasted:
    """What is glued for a claim: MyST for its own page, plain text for others.

    ``{glue:md}`claim-<id>``` on the chapter's page pastes the Markdown (with
    the admonition when the claim fails); another page, which can only paste
    plain text across documents, uses ``{glue:text}`<doc>::claim-<id>:s```.
    """

    def __init__(self, result: ClaimResult) -> None:
        self.result = result

    def _repr_markdown_(self) -> str:
        return self.result.markdown()

    def __repr__(self) -> str:
        if self.result.holds:
            return self.result.text
        return f"({FAILS_TITLE.lower()}) {self.result.text}"


def _in_kernel() -> bool:
    """True inside a running IPython kernel with myst-nb installed, where glue works.

    Gluing only matters for the book build; a notebook opened elsewhere (Colab,
    a plain Jupyter install without myst-nb) runs the same cells without it.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    try:
        import myst_nb  # noqa: F401
    except ImportError:
        return False
    return True
