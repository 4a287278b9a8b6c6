"""Benchmark: rendering speed of the Cats-vs-Dogs toy world (images per second).

Renders the same random animals with ``propgrad.worlds.cats_dogs.render_batch``
at a few sizes, one process and one thread. Each timing is the best of
``--repeats`` runs, measured both as wall-clock time (``time.perf_counter``)
and as process CPU time (``time.process_time``, robust when other jobs share
the cores). Target: 10,000 images of 64 px in under a minute of one core,
i.e. at least 167 images/s (about 3 ms each on a quiet core).

Run from the repository root::

    .venv/bin/python benchmarks/bench_worlds.py                 # 200 images at 32, 64, 128 px
    .venv/bin/python benchmarks/bench_worlds.py --images 50 --sizes 64   # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from propgrad.worlds import cats_dogs as cd

TARGET_64PX = 10_000 / 60  # images per second of CPU time at 64 px


def best_of(fn, repeats: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``repeats`` calls."""
    wall, cpu = np.inf, np.inf
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", "-n", type=int, default=200)
    parser.add_argument(
        "--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[32, 64, 128]
    )
    parser.add_argument("--repeats", "-r", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    params = [cd.sample_params(rng, i % 2) for i in range(args.images)]
    cd.render_batch(params[:4], args.sizes[0])  # warm-up (imports, first allocations)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"toy-world rendering: {args.images} images per run, best of {args.repeats}")
    print(
        f"numpy {np.__version__}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load:.2f}"
    )
    print()
    header = f"{'size':>6}{'images/s (wall)':>18}{'images/s (CPU)':>17}{'ms/image (CPU)':>17}"
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        wall, cpu = best_of(lambda size=size: cd.render_batch(params, size), args.repeats)
        n = len(params)
        print(f"{size:>4}px{n / wall:>18.0f}{n / cpu:>17.0f}{1000 * cpu / n:>17.2f}")
        if size == 64:
            verdict = "meets" if n / cpu >= TARGET_64PX else "MISSES"
            print(f"{'':>6}64 px target: >= {TARGET_64PX:.0f} images/s of CPU time ({verdict})")


if __name__ == "__main__":
    main()
