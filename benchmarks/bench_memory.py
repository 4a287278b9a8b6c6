"""Benchmark: peak resident memory of every chapter at the demo profile.

Runs each chapter notebook (``notebooks/<chapter>.md``, turned into a notebook
with jupytext) with papermill, as the book does (``profile="demo"``; trained
models, rendered sweeps and predictions come from the cache, so run the
chapters once before to measure the reruns of a course), and samples the
memory of the notebook's kernel and every process it starts every
``--interval`` seconds with psutil. Printed per chapter: the wall time, the
peak resident set size (RSS) of that process tree and, on Linux, its anonymous
part (``RssAnon``: the process's own memory; the rest of the RSS is file pages
mapped by the process, such as memory-mapped sweeps, which the kernel can drop
at any time), and the cell running at the peak. Target: every chapter under
3 GB on an 8 GB laptop.

``--results-dir`` keeps each chapter's recorded values
(``<dir>/<chapter>.json``, the notebook's ``results_path``), to check that a
change of memory use changes no recorded number.

Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_memory.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_memory.py --chapters cats_vs_dogs
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = (
    "method",
    "cats_vs_dogs",
    "clip_orientation",
    "skin_lesions",
    "training_dynamics",
    "reading_the_score",
)
TARGET_GB = 3.0
GB = 1024**3


def _proc_status(pid: int) -> dict[str, int]:
    """``RssAnon``, ``RssFile`` and ``RssShmem`` of a process in bytes (Linux only)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(("RssAnon:", "RssFile:", "RssShmem:")):
                    name, amount, _unit = line.split()
                    values[name[:-1]] = int(amount) * 1024
    except OSError:
        pass
    return values


def _tree(process) -> list:
    """The kernel processes (and everything they started) under papermill."""
    import psutil

    try:
        children = process.children(recursive=True)
    except psutil.Error:
        return []
    kernels = []
    for child in children:
        try:
            if any("ipykernel" in part for part in child.cmdline()):
                kernels.append(child)
        except psutil.Error:
            continue
    tree = []
    for kernel in kernels:
        tree.append(kernel)
        try:
            tree += kernel.children(recursive=True)
        except psutil.Error:
            pass
    return tree


def run_chapter(chapter: str, args: argparse.Namespace, work: Path) -> dict:
    """Run one chapter under papermill and sample its memory."""
    import jupytext
    import psutil

    notebook = work / f"{chapter}.ipynb"
    jupytext.write(jupytext.read(ROOT / "notebooks" / f"{chapter}.md"), notebook)
    results = Path(args.results_dir or work) / f"{chapter}.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("papermill")),
        str(notebook),
        str(work / f"{chapter}.out.ipynb"),
        "-p", "profile", args.profile,
        "-p", "results_path", str(results),
        "-k", "python3",
        "--cwd", str(ROOT / "notebooks"),
        "--log-output",
        "--no-progress-bar",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    cell = ["-"]
    log: list[str] = []

    def read_log() -> None:
        for line in process.stderr:
            log.append(line)
            found = re.search(r"Executing Cell (\d+)", line)
            if found:
                cell[0] = found.group(1)

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    peak = {"rss": 0, "anon": 0, "cell": "-", "anon_cell": "-"}
    parent = psutil.Process(process.pid)
    while process.poll() is None:
        rss = anon = 0
        for member in _tree(parent):
            try:
                rss += member.memory_info().rss
            except psutil.Error:
                continue
            anon += _proc_status(member.pid).get("RssAnon", 0)
        if rss > peak["rss"]:
            peak["rss"], peak["cell"] = rss, cell[0]
        if anon > peak["anon"]:
            peak["anon"], peak["anon_cell"] = anon, cell[0]
        time.sleep(args.interval)
    reader.join(timeout=5)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        tail = "".join(log[-30:])
        print(f"{chapter}: papermill failed (exit {process.returncode}):\n{tail}", file=sys.stderr)
    return {"chapter": chapter, "seconds": seconds, "ok": process.returncode == 0, **peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="+", default=list(CHAPTERS), choices=CHAPTERS)
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    parser.add_argument("--results-dir", help="keep each chapter's recorded values here")
    args = parser.parse_args()

    import psutil

    total = psutil.virtual_memory().total / GB
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {total:.0f} GB memory; "
        f"profile {args.profile!r}, memory sampled every {args.interval} s"
    )
    print()
    header = f"{'chapter':<20}{'seconds':>9}{'peak RSS GB':>13}{'at cell':>9}{'peak anon GB':>14}"
    print(header)
    print("-" * len(header))
    rows = []
    with tempfile.TemporaryDirectory(prefix="propgrad-bench-memory-") as folder:
        for chapter in args.chapters:
            row = run_chapter(chapter, args, Path(folder))
            rows.append(row)
            anon = f"{row['anon'] / GB:>14.2f}" if row["anon"] else f"{'n/a':>14}"
            flag = "" if row["ok"] else "  (failed)"
            print(
                f"{chapter:<20}{row['seconds']:>9.0f}{row['rss'] / GB:>13.2f}{row['cell']:>9}"
                f"{anon}{flag}",
                flush=True,
            )
    worst = max(rows, key=lambda r: r["rss"])
    verdict = "all under" if worst["rss"] / GB < TARGET_GB else "NOT all under"
    print()
    print(
        f"{verdict} {TARGET_GB:.0f} GB: the largest peak is {worst['chapter']} at "
        f"{worst['rss'] / GB:.2f} GB"
    )


if __name__ == "__main__":
    main()
