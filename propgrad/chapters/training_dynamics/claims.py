"""What the training-dynamics chapter states about its results, as checked claims.

Runs are keyed by the paper's model labels and the initialisation
(``pretrained`` or ``random``); ``epochs[model][init]`` is E[|∇X|] of the hair
face per checkpoint (the untrained network first), ``epochs_makeup`` the same
for the made-up face.
"""

from __future__ import annotations

import numpy as np

from propgrad.claims import Claim

INITS = ("pretrained", "random")
# the first checkpoints after training started, where the cue is learned first
EARLY = slice(1, 4)


def _names(labels):
    labels = list(labels)
    if not labels:
        return "none"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _runs(r):
    return [(m, i) for m in r["epochs"] for i in INITS]


def _learned(r):
    ratio = {(m, i): r["epochs"][m][i][-1] / max(r["epochs"][m][i][0], 1e-12) for m, i in _runs(r)}
    return {"smallest_ratio": min(ratio.values())}


def _significant(r):
    sig = [s for m, i in _runs(r) for s in r["significant_per_epoch"][m][i][1:]]
    return {"share": float(np.mean(sig)), "n_checkpoints_trained": len(sig)}


def _falls(r):
    falls = {(m, i): int(np.sum(np.diff(r["epochs"][m][i][1:]) < 0)) for m, i in _runs(r)}
    flips = {(m, i): r["flips_per_epoch"][m][i][1:] for m, i in _runs(r)}
    mixed = [k for k, f in flips.items() if any(v > 0 for v in f) and any(v == 0 for v in f)]
    return {"fewest_falls": min(falls.values()), "n_mixed": len(mixed), "n_runs": len(falls)}


def _makeup(r):
    calmer = [m for m in r["makeup_calmer_late"] if all(r["makeup_calmer_late"][m].values())]
    not_yet = [m for m in r["makeup_calmer_late"] if m not in calmer]
    early = {
        (m, i): float(np.mean(r["epochs_makeup"][m][i][EARLY]) / np.mean(r["epochs"][m][i][EARLY]))
        for m, i in _runs(r)
    }
    return {
        "calmer": _names(calmer),
        "n_calmer": len(calmer),
        "not_yet": _names(not_yet),
        "n_not_yet": len(not_yet),
        "early_min": min(early.values()),
    }


def _pretraining(r):
    above = [m for m, v in r["pretrained_above_random"].items() if v]
    return {"above": _names(above), "n_above": len(above), "n": len(r["pretrained_above_random"])}


def _vit(r):
    t12 = r["table12"]
    e = {(m, i): t12[m][i]["E"] for m in t12 for i in INITS}
    flips = {(m, i): t12[m][i]["flips"] for m in t12 for i in INITS}
    gap = {m: r["table11"][m]["pretrained"] - r["table11"][m]["random"] for m in r["table11"]}
    return {
        "least_e": min(e, key=e.get),
        "fewest_flips": min(flips.values()),
        "vit_flips": flips.get(("ViT-B/16", "random")),
        "vit_e": e.get(("ViT-B/16", "random")),
        "largest_gap_model": max(gap, key=gap.get),
        "vit_gap": gap.get("ViT-B/16"),
    }


def _accuracy(r):
    t11 = r["table11"]
    gap = {m: abs(v["pretrained"] - v["random"]) for m, v in t11.items()}
    ahead = [m for m, v in t11.items() if v["random"] > v["pretrained"]]
    return {
        "largest": max(gap.values()),
        "ahead": _names(ahead),
        "n_ahead": len(ahead),
        "n": len(t11),
    }


def _borderline(r):
    young = {(m, i): r["hair_face_called_young"][m][i] for m, i in _runs(r)}
    doubtful = [k for k, v in young.items() if v < 1.0]
    lowest = min(young, key=young.get)
    return {
        "n_doubtful": len(doubtful),
        "n_runs": len(young),
        "lowest_share": young[lowest],
        "lowest_run": f"{lowest[0]}, " + ("pre-trained" if lowest[1] == "pretrained" else "random"),
    }


CLAIMS = [
    Claim(
        "cue_learned_in_every_run",
        condition=lambda r: all(
            v for row in r["final_above_initial"].values() for v in row.values()
        ),
        holds=(
            "The planted cue is learned. Every trained model reacts to the hair more than the "
            "untrained network it started from: its last checkpoint's "
            "$\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ is at least {smallest_ratio:.1f} times its "
            "first."
        ),
        fails=(
            "Not every run ends up reacting to the hair more than it did before training; the "
            "smallest ratio of last to first $\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ is "
            "{smallest_ratio:.2f}."
        ),
        values=_learned,
    ),
    Claim(
        "significant_at_nearly_every_checkpoint",
        condition=lambda r: _significant(r)["share"] >= 0.9,
        holds=(
            "The shuffle test calls the change significant at {share:.0%} of the "
            "{n_checkpoints_trained} checkpoints after training began, as it does in most of "
            "the paper's runs (its Table 12)."
        ),
        fails=(
            "The shuffle test calls the change significant at only {share:.0%} of the "
            "{n_checkpoints_trained} checkpoints after training began."
        ),
        values=_significant,
    ),
    Claim(
        "reliance_rises_and_falls",
        condition=lambda r: _falls(r)["fewest_falls"] >= 2 and _falls(r)["n_mixed"] > 0,
        holds=(
            "The reliance does not grow steadily either: in every run it falls from one epoch "
            "to the next at least {fewest_falls} times, and in {n_mixed} of the {n_runs} runs "
            "the prediction flips under the intervention at some epochs and not at others. "
            "That is the paper's second observation (its Fig. 7), here for every family."
        ),
        fails=(
            "The reliance was to rise and fall from epoch to epoch in every run; the fewest "
            "epoch-to-epoch falls in a run is {fewest_falls}, and {n_mixed} of the {n_runs} "
            "runs flip at some epochs and not at others."
        ),
        values=_falls,
    ),
    Claim(
        "makeup_face_reacts_early",
        condition=lambda r: _makeup(r)["early_min"] >= 0.5,
        holds=(
            "In the first epochs every model reacts to the made-up face's hair at least half "
            "as strongly as to the plain face's (the smallest ratio over the first three "
            "epochs: {early_min:.2f}): grey hair is the cue it learns first."
        ),
        fails=(
            "In the first epochs some model hardly reacts to the made-up face's hair (the "
            "smallest ratio to the plain face over the first three epochs: {early_min:.2f})."
        ),
        values=_makeup,
    ),
    Claim(
        "makeup_learned_by_some",
        condition=lambda r: _makeup(r)["n_calmer"] > 0,
        holds=(
            "For the {calmer} stand-ins the made-up face's reaction then falls below the "
            "plain face's in the second half of training, with both initialisations, once they "
            'have learned that makeup means "young"; from then on they call her young '
            "whatever her hair, which is the paper's confounded example (its Figs. 28 to 31). "
            "The others ({not_yet}) have not got that far, and her output keeps moving with "
            "the hair."
        ),
        fails=(
            "No stand-in has learned, by the end of training, to keep the made-up face calmer "
            "than the plain one with both initialisations."
        ),
        values=_makeup,
    ),
    Claim(
        "pretraining_helps_only_partly",
        condition=lambda r: 0 < _pretraining(r)["n_above"] < _pretraining(r)["n"],
        holds=(
            "The paper's first finding shows only partly: a pre-trained run relies on the "
            "hair more than its random twin for {n_above} of the {n} families ({above})."
        ),
        fails=(
            "The paper's first finding: a pre-trained run relies on the hair more than its "
            "random twin for {n_above} of the {n} families ({above})."
        ),
        values=_pretraining,
    ),
    Claim(
        "random_vit_stands_apart",
        condition=lambda r: (
            _vit(r)["least_e"] == ("ViT-B/16", "random")
            and _vit(r)["largest_gap_model"] == "ViT-B/16"
        ),
        holds=(
            "The random ViT stands apart: it relies least on the hair of all runs (mean E "
            "{vit_e:.4f}, {vit_flips} checkpoints with a flip), and it loses the most accuracy "
            "against its pre-trained twin ({vit_gap:.1f} points), as the paper's transformers, "
            "too, lose most without pre-training (its Table 11)."
        ),
        fails=(
            "The random ViT was to rely least on the hair and to lose the most accuracy "
            "without pre-training; here the least reliance is {least_e} and the largest "
            "accuracy loss {largest_gap_model}."
        ),
        values=_vit,
    ),
    Claim(
        "starts_end_close",
        condition=lambda r: _accuracy(r)["largest"] < 10.0,
        holds=(
            "In the toy world the two starts end within {largest:.1f} points of each other, "
            "and for {n_ahead} of the {n} families the random one is ahead ({ahead}): a few "
            "epochs of pre-training on shapes do not prepare a network for faces the way "
            "ImageNet does, and a task this small is learned from scratch anyway."
        ),
        fails=(
            "The two starts end up to {largest:.1f} points apart; the random one is ahead for "
            "{n_ahead} of the {n} families ({ahead})."
        ),
        values=_accuracy,
    ),
    Claim(
        "plain_face_is_borderline_for_some",
        condition=lambda r: _borderline(r)["n_doubtful"] > 0,
        holds=(
            "Finally, the plain face is a borderline case: in {n_doubtful} of the {n_runs} "
            'runs some checkpoints (the untrained one included) call it "not young" before '
            "any edit, down to a share of {lowest_share:.0%} called young ({lowest_run}), "
            "whereas in the paper both DenseNets classify their face correctly after every "
            "epoch."
        ),
        fails=(
            "Every run calls the plain face young at every checkpoint before any edit, as the "
            "paper's DenseNets do."
        ),
        values=_borderline,
    ),
    Claim(
        "summary_toy_world",
        condition=lambda r: (
            _falls(r)["fewest_falls"] >= 2
            and all(v for row in r["final_above_initial"].values() for v in row.values())
        ),
        holds=(
            "in a toy portrait world with grey hair planted as an age cue, every model learns "
            "the cue and its reliance rises and falls from epoch to epoch; pre-trained runs "
            "rely on it more for {n_above} of {n} families only."
        ),
        fails=(
            "in a toy portrait world with grey hair planted as an age cue, not every model's "
            "reliance rises and falls as the paper's do at these parameters."
        ),
        values=_pretraining,
    ),
    Claim(
        "small_swin_learns_from_scratch",
        condition=lambda r: r["table11"].get("SwinT-S", {}).get("random", 0.0) > 60.0,
        holds=(
            "Our small Swin, unlike the paper's, learns the task from scratch "
            "({table11[SwinT-S][random]:.0f} % test accuracy)."
        ),
        fails=(
            "Our small Swin does not learn the task from scratch at these parameters (it was "
            "not trained, or it stays below 60 % test accuracy)."
        ),
    ),
]
