"""Record the values a notebook computes, for the tests and the book.

A notebook creates one :class:`Results` and adds the numbers it reports. Each
addition is written to disk at once (atomically), so a crash keeps what was
already computed, and the tests can assert on the values after running the
notebook at the smoke profile.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    """Convert numpy scalars/arrays (and nested containers) to JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


class Results:
    """A small JSON-backed record of named results.

    Parameters
    ----------
    path : str or Path, optional
        Where to write the JSON file. ``None`` keeps the results in memory only.
    **values
        Values to record at once (e.g. ``profile="demo"``).

    Examples
    --------
    >>> results = Results(None)
    >>> results.add(sine_gradient=0.1, sine_significant=True)
    >>> results["sine_gradient"]
    0.1
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, **values: Any) -> None:
        self.path = Path(path) if path else None
        self.values: dict[str, Any] = {}
        if values:
            self.add(**values)

    def add(self, **values: Any) -> None:
        """Record values (numpy types are converted) and write the file."""
        self.values.update(_plain(values))
        self._write()

    def add_table(self, name: str, table: Any) -> dict[str, dict[str, Any]]:
        """Record a table as the nested dict row -> column -> number.

        Parameters
        ----------
        name : str
            Record key; reproduced paper tables use ``tableN`` (N = the
            paper's table number).
        table : pandas.DataFrame or mapping
            The table, labelled as in the paper (see
            :func:`propgrad.tables.table_record`).

        Returns
        -------
        dict
            The recorded nested dict.
        """
        from propgrad.tables import table_record

        record = table_record(table)
        self.add(**{name: record})
        return record

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def _write(self) -> None:
        if self.path is None:
            return
        from propgrad.cache import atomic_path

        # top-level keys sorted (stable diffs); tables keep their row and column order
        # (so not cache.write_json_atomic, which sorts every level)
        ordered = {key: self.values[key] for key in sorted(self.values)}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(ordered, indent=2))

    @staticmethod
    def load(path: str | os.PathLike[str]) -> dict[str, Any]:
        """Read a results file written by :meth:`add`."""
        return json.loads(Path(path).read_text())
