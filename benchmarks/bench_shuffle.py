"""Benchmark: vectorised ``propgrad.stats.shuffle_test`` vs a loop reference.

The reference is written the way the authors' code works: a Python loop over
the K permutations (``np.random.permutation``, ``np.gradient``, mean absolute
value per permutation), and a loop over sequences for a batch. Both run in the
same process on the same data; each timing is the best of ``--repeats`` runs
(``time.perf_counter``). The script also checks that both give the same
p-values up to Monte-Carlo error.

Run from the repository root::

    .venv/bin/python benchmarks/bench_shuffle.py            # K=10,000, N=101, 100 sequences
    .venv/bin/python benchmarks/bench_shuffle.py --repeats 1 --sequences 20   # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from propgrad.stats import shuffle_test

TARGET_SINGLE = 20.0  # speed-up wanted for one sequence
TARGET_BATCH = 50.0  # speed-up wanted per sequence for a batch


# ----------------------------------------------------------------------------
# reference: one permutation at a time
# ----------------------------------------------------------------------------
def reference_shuffle_test(x: np.ndarray, k: int, seed: int) -> tuple[float, np.ndarray]:
    """Loop over permutations; two-sided around the null mean, +1 corrected."""
    np.random.seed(seed)  # noqa: NPY002 (legacy API on purpose, as in the original code)
    observed = np.mean(np.abs(np.gradient(x, edge_order=2)))
    null = np.empty(k)
    for i in range(k):
        shuffled = np.random.permutation(x)  # noqa: NPY002
        null[i] = np.mean(np.abs(np.gradient(shuffled, edge_order=2)))
    centre = null.mean()
    count = np.count_nonzero(np.abs(null - centre) >= np.abs(observed - centre))
    return (count + 1) / (k + 1), null


def reference_batch(xs: np.ndarray, k: int, seed: int) -> np.ndarray:
    return np.array([reference_shuffle_test(x, k, seed + m)[0] for m, x in enumerate(xs)])


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def make_sequences(m: int, n: int, seed: int = 0) -> np.ndarray:
    """Noise plus a smooth signal of increasing strength: p-values from ~0 to ~1."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 3.0, n)
    amplitude = np.linspace(0.0, 2.5, m)[:, None]
    return rng.normal(size=(m, n)) + amplitude * np.sin(t)[None, :]


def monte_carlo_tolerance(p: float, null: np.ndarray, observed: float, k: int) -> float:
    """Five standard errors of the difference of two independent p-value estimates.

    Two sources of error: the binomial error of the count, and the error of the
    estimated null mean that the two-sided rule centres on (it matters when the
    observed value is near the centre), propagated with the slope dp/dmu.
    """
    centre, sd = null.mean(), null.std()
    delta = 0.05 * sd

    def p_at(mu: float) -> float:
        return np.mean(np.abs(null - mu) >= abs(observed - mu))

    slope = (p_at(centre + delta) - p_at(centre - delta)) / (2 * delta)
    var = p * (1 - p) / k + (slope * sd) ** 2 / k
    return 5.0 * np.sqrt(2.0 * var) + 2.0 / k


def check_agreement(xs, p_new, p_ref, nulls, k):
    worst = 0.0
    for x, pn, pr, null in zip(xs, p_new, p_ref, nulls, strict=True):
        observed = np.mean(np.abs(np.gradient(x, edge_order=2)))
        tol = monte_carlo_tolerance(max(pr, 1 / k), null, observed, k)
        diff = abs(pn - pr)
        worst = max(worst, diff / tol)
        assert diff <= tol, f"p-values disagree: propgrad {pn:.4f}, reference {pr:.4f}"
    return worst


# ----------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permutations", "-k", type=int, default=10_000)
    parser.add_argument("--points", "-n", type=int, default=101)
    parser.add_argument("--sequences", "-m", type=int, default=100)
    parser.add_argument("--repeats", "-r", type=int, default=3)
    args = parser.parse_args()
    k, n, m, r = args.permutations, args.points, args.sequences, args.repeats

    xs = make_sequences(m, n)
    single = xs[m // 2]

    # one sequence
    t_new1, res1 = best_of(lambda: shuffle_test(single, n_permutations=k, seed=1), r)
    t_ref1, (p_ref1, _) = best_of(lambda: reference_shuffle_test(single, k, 1), r)

    # a batch of m sequences (the reference loops over them)
    t_new_m, res_m = best_of(lambda: shuffle_test(xs, n_permutations=k, seed=2), r)
    t_ref_m, p_ref_m = best_of(lambda: reference_batch(xs, k, 2), r)

    # agreement of p-values within Monte-Carlo error (nulls from our batch run)
    worst1 = check_agreement([single], [res1.p_value], [p_ref1], [res1.null], k)
    worst_m = check_agreement(xs, res_m.p_value, p_ref_m, res_m.null, k)
    decisions_differ = int(np.sum(res_m.significant != (p_ref_m < 0.01)))

    ratio1 = t_ref1 / t_new1
    ratio_m = t_ref_m / t_new_m  # = per-sequence ratio (both over the same m)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    print(f"shuffle test benchmark: K={k:,} permutations, N={n} points, best of {r}")
    print(
        f"numpy {np.__version__}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load:.2f}"
    )
    print()
    header = f"{'case':<28}{'reference':>14}{'propgrad':>14}{'speed-up':>11}{'target':>9}"
    print(header)
    print("-" * len(header))
    print(
        f"{'1 sequence':<28}{t_ref1 * 1e3:>11.1f} ms{t_new1 * 1e3:>11.2f} ms"
        f"{ratio1:>10.1f}x{TARGET_SINGLE:>8.0f}x"
    )
    print(f"{f'{m} sequences, total':<28}{t_ref_m:>12.2f} s{t_new_m:>12.3f} s{ratio_m:>10.1f}x")
    print(
        f"{f'{m} sequences, per sequence':<28}{t_ref_m / m * 1e3:>11.1f} ms"
        f"{t_new_m / m * 1e3:>11.2f} ms{ratio_m:>10.1f}x{TARGET_BATCH:>8.0f}x"
    )
    print()
    print(
        f"p-values agree within Monte-Carlo error (largest |diff| / tolerance: "
        f"{max(worst1, worst_m):.2f}); single: propgrad {res1.p_value:.4f} vs "
        f"reference {p_ref1:.4f}; significance decisions that differ at alpha=0.01: "
        f"{decisions_differ} of {m}"
    )
    ok1 = "met" if ratio1 >= TARGET_SINGLE else "NOT met"
    ok_m = "met" if ratio_m >= TARGET_BATCH else "NOT met"
    print(f"targets: one sequence {ok1}, batch {ok_m}")


if __name__ == "__main__":
    main()
