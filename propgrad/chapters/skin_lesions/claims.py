"""What the skin-lesion chapter states about its results, as checked claims.

The record's tables are keyed by the paper's architecture labels (ResNet18,
EfficientNet-B0, ConvNeXt-S, ViT-B/16, or the subset a profile trains) and by
the training variants ``unbiased``, ``biased`` and ``imagenet``.
"""

from __future__ import annotations

from propgrad.chapters.skin_lesions.paper import TABLE3
from propgrad.claims import Claim

# the paper's Table 10 (no computation of ours): lowest and highest accuracy (%)
PAPER_ACCURACY = (82.84, 92.18)


def _names(labels):
    labels = list(labels)
    if not labels:
        return "none"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _ratios(r):
    t3 = r["table3"]
    ratio = {a: row["biased"] / row["unbiased"] for a, row in t3.items()}
    text = ", ".join(f"{a} {v:.1f}×" for a, v in ratio.items())
    return {"ratio_text": text, "lowest_ratio": min(ratio.values())}


def _shortcut(r):
    gain = {a: row["biased"] - row["unbiased"] for a, row in r["table10"]["biased"].items()}
    return {
        "gain_text": ", ".join(f"{a} {g:+.1f}" for a, g in gain.items()),
        "smallest_gain": min(gain.values()),
    }


def _mean_flips(r):
    flipping = [a for a, c in r["checks"].items() if c["biased mean flips"]]
    return {"flipping": _names(flipping), "n_flipping": len(flipping), "n": len(r["checks"])}


def _flip_task(r):
    table = r["table2_isic_by_architecture"]
    lead = {
        a: row["Ours"] - max(v for k, v in row.items() if k != "Ours") for a, row in table.items()
    }
    return {
        "lead_text": ", ".join(f"{a} {v:+.1f}" for a, v in lead.items()),
        "smallest_lead": min(lead.values()),
    }


def _imagenet(r):
    above = [a for a, row in r["table3"].items() if row["imagenet"] > row["unbiased"]]
    return {"above": _names(above), "n_above": len(above), "n": len(r["table3"])}


def _accuracy(r):
    values = [a for part in r["table10"].values() for row in part.values() for a in row.values()]
    return {"lowest": min(values), "highest": max(values), "paper": PAPER_ACCURACY}


def _unbiased_dots(r):
    worse = [a for a, row in r["table10"]["unbiased"].items() if row["biased"] < row["unbiased"]]
    return {"worse": _names(worse), "n_worse": len(worse)}


def _never_flip(r):
    trivial = [
        f"the {variant} {a} stand-in"
        for a, row in r["flipped_fraction"].items()
        for variant, share in row.items()
        if share in (0.0, 1.0)
    ]
    return {"trivial": _names(trivial), "n_trivial": len(trivial)}


CLAIMS = [
    Claim(
        "bias_found_for_every_architecture",
        condition=lambda r: all(row["biased"] > row["unbiased"] for row in r["table3"].values()),
        holds=(
            "**The planted bias is found.** For every architecture the biased model's "
            "$\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ is larger than the unbiased one's "
            "(biased / unbiased: {ratio_text}), as in the paper's Table 3."
        ),
        fails=(
            "The biased model's $\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ was to exceed the "
            "unbiased one's for every architecture; the ratios are {ratio_text}."
        ),
        values=_ratios,
    ),
    Claim(
        "shortcut_pays_for_every_architecture",
        condition=lambda r: _shortcut(r)["smallest_gain"] > 0,
        holds=(
            "The accuracies agree: every biased model does better on the test part with dots "
            "than on the one without (percentage points: {gain_text}), as in the paper's "
            "Table 10."
        ),
        fails=(
            "Every biased model was to do better on the test part with dots than without; "
            "the differences are {gain_text} percentage points."
        ),
        values=_shortcut,
    ),
    Claim(
        "some_biased_mean_curves_flip",
        condition=lambda r: _mean_flips(r)["n_flipping"] > 0,
        holds=(
            "Many melanomas lose much of their melanoma probability when a dot appears, and "
            "for {n_flipping} of the {n} architectures ({flipping}) the biased model's mean "
            "curve even ends up on the nevus side of the threshold, as the paper's biased "
            "ResNet18 does in its Fig. 5."
        ),
        fails=(
            "No biased model's mean curve crosses the threshold here, unlike the paper's "
            "biased ResNet18 (its Fig. 5)."
        ),
        values=_mean_flips,
    ),
    Claim(
        "ours_leads_the_flip_task_for_every_architecture",
        condition=lambda r: _flip_task(r)["smallest_lead"] >= 0,
        holds=(
            "**The score predicts flips at least as well as the saliency maps.** As in the "
            "paper, $\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ tells flipping from non-flipping "
            "sweeps at least as accurately as the change of any saliency map, for every "
            "architecture (its lead over the best saliency method, in points: {lead_text})."
        ),
        fails=(
            "A saliency method predicts flips better than "
            "$\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ for some architecture (the score's lead "
            "over the best one, in points: {lead_text})."
        ),
        values=_flip_task,
    ),
    Claim(
        "imagenet_stand_in_reacts_for_some",
        condition=lambda r: 0 < _imagenet(r)["n_above"] < _imagenet(r)["n"],
        holds=(
            '**The "ImageNet" stand-in.** The paper\'s ImageNet models react to the dots '
            "more than the unbiased ones, for all four architectures, which the authors "
            "relate to colour features learned in general pre-training. Our stand-in shows "
            "that for {n_above} of {n} architectures only ({above})."
        ),
        fails=(
            '**The "ImageNet" stand-in.** The paper\'s ImageNet models react to the dots '
            "more than the unbiased ones, for all four architectures. Ours do so for "
            "{n_above} of {n} ({above})."
        ),
        values=_imagenet,
    ),
    Claim(
        "accuracy_below_the_papers",
        condition=lambda r: _accuracy(r)["highest"] < PAPER_ACCURACY[1],
        holds=(
            "**Accuracy.** Our models reach {lowest:.0f} to {highest:.0f} % instead of the "
            "paper's {paper[0]:.0f} to {paper[1]:.0f} % (Table 10): tiny models, small images "
            "and few epochs."
        ),
        fails=(
            "**Accuracy.** Our models reach {lowest:.0f} to {highest:.0f} %, the paper's "
            "{paper[0]:.0f} to {paper[1]:.0f} % (Table 10)."
        ),
        values=_accuracy,
    ),
    Claim(
        "some_unbiased_models_lose_on_dots",
        condition=lambda r: _unbiased_dots(r)["n_worse"] > 0,
        holds=(
            "Some of our unbiased models ({worse}) do worse on the test part with dots, which "
            "they never saw in training; the paper's unbiased models kept their accuracy on "
            "images with patches."
        ),
        fails=(
            "Like the paper's, none of our unbiased models does worse on the test part with dots."
        ),
        values=_unbiased_dots,
    ),
    Claim(
        "values_above_the_papers",
        condition=lambda r: all(
            r["table3"][a]["biased"] > TABLE3[a]["Biased"] for a in r["table3"]
        ),
        holds=(
            "**Magnitudes.** Every biased model's $\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ is "
            "larger than the paper's. The score is per step and the paper does not state its "
            "number of alpha steps (we use {n_steps}); our dots are larger relative to the "
            "image, and our small models trained on a shortcut this clean react to it more "
            "completely. Only the orderings are comparable."
        ),
        fails=(
            "**Magnitudes.** Not every biased model's $\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ "
            "is larger than the paper's; with {n_steps} steps per sweep, only the orderings "
            "are comparable."
        ),
    ),
    Claim(
        "trivial_flip_halves_named",
        condition=lambda r: _never_flip(r)["n_trivial"] > 0,
        holds=(
            "A model whose predictions never flip, or always flip ({trivial}), makes its half "
            "of the task trivial: every method scores 100 % on it, which lifts that "
            "architecture's row for all methods alike."
        ),
        fails=(
            "Every model flips on some sweeps and not on others, so no half of the task is trivial."
        ),
        values=_never_flip,
    ),
    Claim(
        "summary_toy_world",
        condition=lambda r: (
            all(row["biased"] > row["unbiased"] for row in r["table3"].values())
            and _flip_task(r)["smallest_lead"] >= 0
        ),
        holds=(
            "in a toy dermoscopy world with the shortcut planted, every architecture's biased "
            "model reacts to a blended dot more than its unbiased twin, and the score predicts "
            "flips at least as well as six saliency methods."
        ),
        fails=(
            "in a toy dermoscopy world with the shortcut planted, not every architecture's "
            "biased model reacts to a blended dot more than its unbiased twin, or the score "
            "does not lead the flip task, at these parameters."
        ),
    ),
]
