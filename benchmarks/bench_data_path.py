"""Benchmark: path-based training with and without the decoded-image cache.

Part 1, the data path. Generates ``--images`` JPEGs (random smooth pictures,
two classes told apart by their tint) at ``--source-size`` px in a temporary
folder and trains a small timm model on them for ``--epochs`` epochs on the
CPU through :func:`propgrad.fit`, three times from the same initial weights:

* ``before``: the code as it was (commit 89adafb): every image decoded (and
  resized) in every batch of every epoch, and the normalisation and flip of
  then (emulated here: ``(x - mean) / std`` into a new tensor, ``torch.flip``
  on floats); only with ``--augment none`` or ``flip``;
* ``per batch``: ``image_cache=False``: per-batch decoding with today's
  tensor operations (an in-place division, flips of the uint8 batch);
* ``decoded``: the images decoded once into a memory-mapped uint8 array
  (:func:`propgrad.imagecache.decoded_images`), batches read from it.

It prints, per epoch, the seconds spent reading the images, the whole data
part (reading, augmenting, normalising: the history's ``data_seconds``) and
the rest (forward, backward, optimiser step), the one-off decoding time, the
ratio of the data part after the first epoch (target: at least 5x from
``before`` to ``decoded``), and whether all runs end with the same weights
(they must, bit for bit).

Part 2, the prediction cache (``--hits``): the Cats-vs-Dogs chapter's Tables 6
and 7 at the demo profile. The three toy models and the group sweeps come from
the cache (``~/.cache/propgrad`` or ``$PROPGRAD_CACHE``; trained and rendered
if missing); the model outputs go to a fresh temporary cache. It scores every
group (as the chapter's mean curves do), then the first ten images of the two
groups of Tables 6 and 7, and prints the prediction-cache hit rate of each
step (the second must be 100 %).

Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_data_path.py            # both parts
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_data_path.py --images 300 --no-hits
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_RATIO = 5.0  # data part after the first epoch: per batch / decoded


# ----------------------------------------------------------------------------
# part 1: the data path
# ----------------------------------------------------------------------------
def make_jpegs(folder: Path, n: int, size: int, seed: int = 0) -> list[tuple[Path, int]]:
    """``n`` random JPEGs (quality 90), alternating classes: 0 warm, 1 cool.

    Smooth random shapes (a coarse random grid, upsampled bicubically) plus a
    fine grain, so that a file is about as large as a photo of that size
    (some 25 KB at 224 px) and decodes about as slowly.
    """
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n):
        label = i % 2
        coarse = rng.integers(0, 200, (12, 12, 3)).astype(np.uint8)
        coarse[..., 0 if label == 0 else 2] += 55
        smooth = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BICUBIC))
        grain = rng.normal(0.0, 6.0, (size, size, 1))
        pixels = np.clip(smooth + grain, 0, 255).astype(np.uint8)
        path = folder / f"{'warm' if label == 0 else 'cool'}_{i:05d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        pairs.append((path, label))
    return pairs


def classifier(arch: str, seed: int = 0):
    """The benchmark's small model (timm, random initial weights, 224 px input)."""
    from propgrad.models import create_classifier

    kwargs = {}
    if arch == "tiny-resnet18":
        arch, kwargs = "resnet18", {"channels": [8, 16, 32, 64], "stem_width": 8}
    return create_classifier(arch, 2, image_size=224, seed=seed, model_kwargs=kwargs)


@contextlib.contextmanager
def legacy_tensor_ops(augment: str):
    """The normalisation and flip as they were before the cache (commit 89adafb).

    ``(x - mean) / std`` into a new tensor, and the flip taken on the float
    batch with ``torch.flip``; the same floats as today's, several times
    slower on a CPU. For the "before" run (``none`` and ``flip`` only).
    """
    import torch

    import propgrad.train as train_mod
    from propgrad.models.preprocess import Preprocess

    def normalise(self, x, inplace=False):
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def to_float(x):
        return x.float().div(255.0) if x.dtype == torch.uint8 else x.float()

    def flip(x, gen):
        x = to_float(x)
        mask = torch.rand(x.shape[0], generator=gen) < 0.5
        return torch.where(mask[:, None, None, None], x.flip(-1), x)

    def make_augment(name):
        return flip if name == "flip" else lambda x, gen: to_float(x)

    if augment not in ("none", "flip"):
        raise ValueError(f"the legacy path is emulated for 'none' and 'flip', not {augment!r}")
    saved = Preprocess.normalise, train_mod.make_augment
    Preprocess.normalise, train_mod.make_augment = normalise, make_augment
    try:
        yield
    finally:
        Preprocess.normalise, train_mod.make_augment = saved


def train(pairs, args, image_cache: bool) -> tuple[list[dict], float, float, dict]:
    """Train once; per-epoch records with the reading time, the decoding time, total time."""
    import propgrad.train as train_mod

    reading = []
    original = train_mod._Images.batch

    def timed_batch(self, index):
        start = time.perf_counter()
        out = original(self, index)
        reading[-1] += time.perf_counter() - start
        return out

    original_epoch = train_mod._train_epoch

    def epoch(*a, **k):
        reading.append(0.0)
        return original_epoch(*a, **k)

    decoding = [0.0]
    original_decode = train_mod._Images.decode

    def timed_decode(self, *a, **k):
        start = time.perf_counter()
        original_decode(self, *a, **k)
        decoding[0] += time.perf_counter() - start

    train_mod._Images.batch, train_mod._train_epoch = timed_batch, epoch
    train_mod._Images.decode = timed_decode
    try:
        clf = classifier(args.model)
        start = time.perf_counter()
        train_mod.fit(
            clf,
            pairs,
            epochs=args.epochs,
            batch_size=args.batch_size,
            augment=args.augment,
            cache=False,
            image_cache=image_cache,
            num_threads=args.threads,
            progress=False,
            device="cpu",
        )
        total = time.perf_counter() - start
    finally:
        train_mod._Images.batch, train_mod._train_epoch = original, original_epoch
        train_mod._Images.decode = original_decode
    history = [dict(h, read_seconds=r) for h, r in zip(clf.training.history, reading, strict=True)]
    weights = {k: v.detach().clone() for k, v in clf.model.state_dict().items()}
    return history, decoding[0], total, weights


def data_path(args: argparse.Namespace) -> None:
    import torch

    work = Path(tempfile.mkdtemp(prefix="propgrad-bench-data-"))
    os.environ["PROPGRAD_CACHE"] = str(work / "cache")  # a fresh cache: nothing decoded yet
    try:
        start = time.perf_counter()
        pairs = make_jpegs(work / "images", args.images, args.source_size)
        size_mb = sum(p.stat().st_size for p, _ in pairs) / 1e6
        print(
            f"{args.images} JPEGs of {args.source_size} px ({size_mb:.0f} MB) written in "
            f"{time.perf_counter() - start:.1f} s; model {args.model} at 224 px, "
            f"batch {args.batch_size}, augmentation {args.augment!r}, {args.epochs} epochs, "
            f"{args.threads} torch thread(s)"
        )
        runs = {}
        legacy = args.augment in ("none", "flip")
        if legacy:
            with legacy_tensor_ops(args.augment):
                runs["before"] = train(pairs, args, False)
        runs["per batch"] = train(pairs, args, False)
        runs["decoded"] = train(pairs, args, True)
        print()
        print(
            "before: per-batch decoding with the tensor operations of before (commit 89adafb); "
            "per batch: per-batch decoding (image_cache=False) with today's; decoded: the cache"
        )
        header = (
            f"{'run':<10}{'epoch':>6}{'read s':>9}{'data s':>9}{'compute s':>11}"
            f"{'epoch s':>9}{'img/s':>8}"
        )
        print(header)
        print("-" * len(header))
        for name, (history, decoding, total, _) in runs.items():
            for h in history:
                compute = h["seconds"] - h["data_seconds"]
                print(
                    f"{name:<10}{h['epoch']:>6}{h['read_seconds']:>9.2f}{h['data_seconds']:>9.2f}"
                    f"{compute:>11.2f}{h['seconds']:>9.2f}{args.images / h['seconds']:>8.0f}"
                )
            note = f", decoding once before epoch 1: {decoding:.2f} s" if decoding else ""
            print(f"{name:<10}{'':>6} whole fit: {total:.2f} s{note}")
        print()
        print("read: getting the uint8 batches; data: read + augment + normalise (history's")
        print("data_seconds); compute: forward, backward, optimiser step (the rest of the epoch)")
        if args.epochs > 1:
            mean = {
                name: {
                    part: float(np.mean([h[f"{part}_seconds"] for h in history[1:]]))
                    for part in ("read", "data")
                }
                for name, (history, *_) in runs.items()
            }
            after = mean["decoded"]
            for name in [n for n in ("before", "per batch") if n in mean]:
                ratio = mean[name]["data"] / after["data"]
                verdict = "meets" if ratio >= TARGET_RATIO else "misses"
                print(
                    f"data part after the first epoch, {name} -> decoded: "
                    f"{mean[name]['data']:.2f} s -> {after['data']:.2f} s per epoch, "
                    f"{ratio:.1f}x ({verdict} the target of {TARGET_RATIO:.0f}x); reading alone "
                    f"{mean[name]['read']:.2f} s -> {after['read']:.3f} s "
                    f"({mean[name]['read'] / max(after['read'], 1e-9):.0f}x)"
                )
        first = runs["per batch"][3]
        same = all(
            all(torch.equal(first[k], weights[k]) for k in first)
            for _, _, _, weights in runs.values()
        )
        print(f"the same final weights in every run, bit for bit: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.environ.pop("PROPGRAD_CACHE", None)


# ----------------------------------------------------------------------------
# part 2: the prediction cache on Tables 6 and 7
# ----------------------------------------------------------------------------
def hit_rate(args: argparse.Namespace) -> None:
    from propgrad.cache import cache_dir

    real = cache_dir()
    work = Path(tempfile.mkdtemp(prefix="propgrad-bench-hits-"))
    try:
        # the models and the rendered sweeps from the real cache, the outputs fresh
        for name in ("models", "cats_vs_dogs_sweeps"):
            (real / name).mkdir(parents=True, exist_ok=True)
            (work / name).symlink_to(real / name)
        os.environ["PROPGRAD_CACHE"] = str(work)
        from propgrad.chapters.cats_vs_dogs import ToyCatsDogs, paper, report
        from propgrad.prediction import cache_stats
        from propgrad.scores import score_models

        data = ToyCatsDogs(args.world_preset)
        start = time.perf_counter()
        models = data.models()
        fur, background = data.group_sweeps(args.curve_images, args.steps)
        print(
            f"Cats vs. Dogs ({args.world_preset}): 3 models, {len(fur)} groups x "
            f"{args.curve_images} images x {args.steps} steps, fur and background "
            f"(loaded in {time.perf_counter() - start:.1f} s)"
        )
        tests = {"n_permutations": 1000, "alpha": 0.01, "seed": 0, "progress": False}
        cache_stats(reset=True)
        start = time.perf_counter()
        score_models(models, fur, target="cat", **tests)
        score_models(models, background, target="cat", **tests)
        stats = cache_stats(reset=True)
        seconds = time.perf_counter() - start
        total = stats["hits"] + stats["misses"]
        print(
            f"all groups (the mean curves): {stats['hits']} of {total} sweep predictions from "
            f"the cache ({stats['hits'] / total:.0%}), {seconds:.1f} s"
        )
        start = time.perf_counter()
        report.ten_images(models, fur, background, 10, **tests)
        stats = cache_stats(reset=True)
        total = stats["hits"] + stats["misses"]
        rate = stats["hits"] / total
        print(
            f"Tables 6 and 7 (first 10 images of {', '.join(paper.TABLE6_GROUPS)}): "
            f"{stats['hits']} of {total} from the cache ({rate:.0%}; "
            f"{'as required' if rate == 1 else 'SHOULD BE 100 %'}), "
            f"{time.perf_counter() - start:.1f} s"
        )
    finally:
        os.environ.pop("PROPGRAD_CACHE", None)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", "-n", type=int, default=2000)
    parser.add_argument("--source-size", type=int, default=224, help="JPEG size in px")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--augment", default="flip", help="none, flip, flip-crop, trivialaugment")
    parser.add_argument("--model", default="tiny-resnet18", help="tiny-resnet18 or a timm name")
    parser.add_argument("--threads", type=int, default=1, help="torch threads while training")
    parser.add_argument("--no-training", action="store_true", help="skip part 1")
    parser.add_argument("--no-hits", action="store_true", help="skip part 2")
    parser.add_argument("--world-preset", default="demo")
    parser.add_argument("--curve-images", type=int, default=200, help="the demo profile: 200")
    parser.add_argument("--steps", type=int, default=21)
    args = parser.parse_args()

    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load:.2f}"
    )
    print()
    if not args.no_training:
        data_path(args)
        print()
    if not args.no_hits:
        hit_rate(args)


if __name__ == "__main__":
    main()
