"""Count what the issue measures in each notebook: code lines and profile branches.

Code lines are the non-blank, non-comment lines of code cells. Profile
branches are lines that branch on the profile or on toy-versus-real data
(``if cfg.profile``, ``... if toy else ...``, ``DEMO_RUN``...).

    python tools/notebook_stats.py notebooks/*.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_BRANCH = re.compile(
    r"\bif\b[^#\n]*(cfg\.profile|profile\s*[!=]=|\btoy\b|DEMO_RUN|data\.kind)"
    r"|\belse\b[^#\n]*(cfg\.profile|\btoy\b|DEMO_RUN)"
)


def stats(path: Path) -> tuple[int, int]:
    """(code lines, profile branches) of a MyST notebook."""
    lines, branches, inside = 0, 0, False
    for line in path.read_text().splitlines():
        if line.startswith("```{code-cell}"):
            inside = True
            continue
        if inside and line.startswith("```"):
            inside = False
            continue
        if not inside or not line.strip() or line.strip().startswith(("#", ":tags:")):
            continue
        lines += 1
        branches += bool(_BRANCH.search(line))
    return lines, branches


def main(paths: list[str]) -> None:
    """Print the counts of each notebook and their total."""
    total = [0, 0]
    for name in paths:
        n, b = stats(Path(name))
        total[0] += n
        total[1] += b
        print(f"{name:40s} {n:5d} code lines {b:3d} profile branches")
    print(f"{'total':40s} {total[0]:5d} code lines {total[1]:3d} profile branches")


if __name__ == "__main__":
    main(sys.argv[1:])
