"""Calibrate the Cats-vs-Dogs toy world: train the three ConvMixers and report.

Prints the 3x3 accuracy table (rows: training split, columns: test split),
the fur-tone and background E[|grad X|] of every model (mean |finite
difference| per step of the cat probability along 21-step exact sweeps on
test images of the two biased test splits, half from each) and their ratio,
and the wall-clock time of rendering and training. Models are trained from
scratch in a temporary cache unless
``--cache`` is given.

    python benchmarks/calibrate_cats_dogs.py --preset demo
    python benchmarks/calibrate_cats_dogs.py --preset demo --set world.shape_overlap=0.4
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time

import numpy as np
import torch

from propgrad.train import evaluate_accuracy, predict_proba
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


def property_gradient(model, params, prop, steps, size) -> float:
    """Mean over images of mean |np.gradient| of p(cat) along the sweep."""
    values = []
    for p in params:
        sweep = cd.intervene(p, prop, steps, size=size)
        p_cat = predict_proba(model, sweep.to_array())[:, 0]
        values.append(np.mean(np.abs(np.gradient(p_cat))))
    return float(np.mean(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo", choices=sorted(cd.CATS_DOGS_PRESETS))
    parser.add_argument("--set", action="append", default=[], help="dotted.key=JSON value")
    parser.add_argument("--n-sweep", type=int, default=40, help="test images per gradient")
    parser.add_argument("--steps", type=int, default=21)
    parser.add_argument("--cache", default=None, help="model cache folder (default: fresh)")
    parser.add_argument("--splits", default=",".join(cd.SPLITS))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()

    preset = parse_overrides(args.set, cd.CATS_DOGS_PRESETS[args.preset])
    print("preset:", json.dumps(preset))
    torch.set_num_threads(args.threads)
    print("torch threads:", torch.get_num_threads())
    cache = args.cache or tempfile.mkdtemp(prefix="propgrad-calib-")
    size = preset["world"]["size"]

    t0 = time.perf_counter()
    tests = {}
    for name in cd.SPLITS:
        cfg = cd.cats_dogs_config(name, preset)
        tests[name] = cd.make_split_from_config(cfg, test_only=True)
    print(f"render test splits: {time.perf_counter() - t0:.1f}s")
    # gradient probes: test images with a clearly dark or clearly light fur (like
    # the paper's sorted photos): half from each biased test split, both classes
    half = args.n_sweep // 2
    probe = tests["dark-cats"].params_test[:half] + tests["dark-dogs"].params_test[:half]

    results = {"preset": preset, "models": {}}
    total_train = 0.0
    for train_split in args.splits.split(","):
        cfg = cd.cats_dogs_config(train_split, preset)
        t0 = time.perf_counter()
        split = cd.make_split_from_config(cfg)
        t_render = time.perf_counter() - t0
        t0 = time.perf_counter()
        model = cd.train_cats_dogs(
            train_split, preset, cache_dir=cache, progress=False, num_threads=args.threads
        )
        t_total = time.perf_counter() - t0
        total_train += t_total + t_render
        hist = model.training_record["history"]
        acc = {
            name: evaluate_accuracy(model, tests[name].x_test, tests[name].y_test)
            for name in cd.SPLITS
        }
        t0 = time.perf_counter()
        fur = property_gradient(model, probe, "fur_tone", args.steps, size)
        bg = property_gradient(model, probe, "background", args.steps, size)
        t_grad = time.perf_counter() - t0
        results["models"][train_split] = {
            "accuracy": acc,
            "fur": fur,
            "background": bg,
            "ratio": fur / max(bg, 1e-12),
            "render_s": t_render,
            "train_s": t_total,
            "epoch_s": [h["seconds"] for h in hist],
            "final_train_acc": hist[-1]["train_acc"] if hist else None,
            "n_train": int(len(split.y_train)),
        }
        print(
            f"[{train_split}] render {t_render:.1f}s, train+eval {t_total:.1f}s "
            f"(epochs {[round(h['seconds'], 1) for h in hist]}), grads {t_grad:.1f}s, "
            f"train acc {hist[-1]['train_acc'] if hist else float('nan'):.3f}",
            flush=True,
        )
        print(
            "   acc "
            + "  ".join(f"{k}={100 * v:.1f}" for k, v in acc.items())
            + f"  | E|grad| fur={fur:.4f} bg={bg:.5f} ratio={fur / max(bg, 1e-12):.1f}",
            flush=True,
        )

    print("\naccuracy (%) rows: training split, columns: test split")
    print(f"{'':>10} " + " ".join(f"{n:>10}" for n in cd.SPLITS))
    for name, rec in results["models"].items():
        print(f"{name:>10} " + " ".join(f"{100 * rec['accuracy'][n]:10.1f}" for n in cd.SPLITS))
    print("\nE[|grad X|] per step of p(cat), 21-step sweeps")
    for name, rec in results["models"].items():
        print(
            f"{name:>10} fur {rec['fur']:.4f}  background {rec['background']:.5f}  "
            f"ratio {rec['ratio']:.1f}"
        )
    print(f"\ntotal render + train time: {total_train:.1f}s")
    results["total_s"] = total_train
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
