"""Calibrate the Cats-vs-Dogs toy world: train the three models and report.

Prints the 3x3 accuracy table (rows: training split, columns: test split), the
fur and background E[|grad X|] of every model (mean per-image E of p(cat) along
exact sweeps of the test images of the four fur groups) and their ratio, and
the wall-clock time of rendering and training. Models are trained from
scratch in a temporary cache unless ``--cache`` is given.

    python benchmarks/calibrate_cats_dogs.py --preset demo
    python benchmarks/calibrate_cats_dogs.py --preset demo --set world.shape_overlap=0.4
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time

import torch

import propgrad
from propgrad.chapters.cats_vs_dogs.toy import ToyCatsDogs, toy_preset
from propgrad.runs import train_run
from propgrad.worlds import cats_dogs as cd


def parse_overrides(items: list[str], preset: dict) -> dict:
    preset = copy.deepcopy(preset)
    for item in items:
        path, value = item.split("=", 1)
        *parents, leaf = path.split(".")
        node = preset
        for parent in parents:
            node = node[parent]
        node[leaf] = json.loads(value)
    return preset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo", choices=sorted(cd.WORLD_PRESETS))
    parser.add_argument("--set", action="append", default=[], help="dotted.key=JSON value")
    parser.add_argument("--n-sweep", type=int, default=10, help="test images per group")
    parser.add_argument("--steps", type=int, default=21)
    parser.add_argument("--cache", default=None, help="cache folder (default: a fresh one)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()

    preset = parse_overrides(args.set, toy_preset(args.preset))
    os.environ["PROPGRAD_CACHE"] = args.cache or tempfile.mkdtemp(prefix="propgrad-calib-")
    torch.set_num_threads(args.threads)
    print("preset:", json.dumps(preset), "| torch threads:", torch.get_num_threads())
    data = ToyCatsDogs(preset, num_threads=args.threads, progress=False)

    models, seconds = {}, {}
    for spec in data.runs():
        split = spec.tags["split"]
        start = time.perf_counter()
        models[split] = train_run(spec).classifier()
        seconds[split] = time.perf_counter() - start
        epochs = [round(h["seconds"], 1) for h in models[split].training.history]
        print(f"[{split}] render + train + evaluate {seconds[split]:.1f}s (epochs {epochs})")
    fur_sweeps, bg_sweeps = data.group_sweeps(args.n_sweep, args.steps)
    options = {"target": "cat", "n_permutations": 200, "progress": False, "cache": False}
    fur = propgrad.score_models(models, fur_sweeps, **options).per_model()
    background = propgrad.score_models(models, bg_sweeps, **options).per_model()

    print("\naccuracy (%) rows: training split, columns: test split")
    print(f"{'':>10} " + " ".join(f"{n:>10}" for n in cd.SPLITS))
    results = {"preset": preset, "models": {}}
    for split, model in models.items():
        acc = model.training.accuracies
        print(f"{split:>10} " + " ".join(f"{100 * acc[n]:10.1f}" for n in cd.SPLITS))
        e_fur = float(fur.loc[split, "mean_E"])
        e_bg = float(background.loc[split, "mean_E"])
        results["models"][split] = {
            "accuracy": acc, "fur": e_fur, "background": e_bg,
            "ratio": e_fur / max(e_bg, 1e-12), "seconds": seconds[split],
        }  # fmt: skip
    print(f"\nE[|grad X|] per step of p(cat), {args.steps}-step sweeps")
    for split, rec in results["models"].items():
        print(f"{split:>10} fur {rec['fur']:.4f}  background {rec['background']:.5f}  "
              f"ratio {rec['ratio']:.1f}")  # fmt: skip
    print(f"\ntotal render + train time: {sum(seconds.values()):.1f}s")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
