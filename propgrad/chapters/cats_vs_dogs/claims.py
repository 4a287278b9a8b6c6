"""What the Cats-vs-Dogs chapter states about its results, as checked claims.

Every claim reads the chapter's results record (see the notebook for the keys).
Model rows are the paper's labels: ``authors_sweep`` and the conventions table
use our split names, Table 1 and Table 5 the paper's row names.
"""

from __future__ import annotations

from propgrad.claims import Claim

BIASED = ("dark-cats", "dark-dogs")
SPLITS = ("unbiased", *BIASED)
TABLE5_ROWS = {
    "unbiased": "Unbiased",
    "dark-cats": "Dark Cats split",
    "dark-dogs": "Dark Dogs split",
}
TABLE5_OPPOSITE = {"dark-cats": "dark dogs split", "dark-dogs": "dark cats split"}
TABLE5_OWN = {"dark-cats": "dark cats split", "dark-dogs": "dark dogs split"}
TABLE1_ROWS = {"unbiased": "Unbiased", "dark-cats": "Dark Cats", "dark-dogs": "Dark Dogs"}
# the paper's Table 5: the biased models on the opposite split (no computation of ours)
PAPER_OPPOSITE = {"dark-cats": 45.78, "dark-dogs": 48.45}
GROUPS = ("dark cats", "light dogs", "light cats", "dark dogs")
# row labels of the all-images table
LABELS = {"unbiased": "unbiased", "dark-cats": "dark cats", "dark-dogs": "dark dogs"}


def _sweep_e(r, model):
    return r["authors_sweep"][model]["E[|∇X|]"]


def _sweep_values(r):
    sweep = r["authors_sweep"]
    return {
        "e": {m: _sweep_e(r, m) for m in SPLITS},
        "flips": {m: sweep[m]["flips"] for m in SPLITS},
        "p": {m: sweep[m]["p"] for m in SPLITS},
    }


def _real_fur_ordering(r):
    ours = sorted(SPLITS, key=lambda m: _sweep_e(r, m))
    theirs = sorted(SPLITS, key=lambda m: r["authors_reported"][m])
    flips = {m: r["authors_sweep"][m]["flips"] for m in SPLITS}
    only_dark_cats = flips["dark-cats"] > 0 and flips["unbiased"] == flips["dark-dogs"] == 0
    return ours == theirs and only_dark_cats


def _conventions(r):
    c = r["authors_sweep_conventions"]["dark-cats"]
    gap, closer = c["ours"] - c["authors"], c["first-order ends"] - c["authors"]
    return {
        "dc": c,
        "closed": 1 - closer / gap if gap else 0.0,
        "crop_rise": c["tighter crop"] / c["ours"] - 1,
    }


def _table1(r, model, column):
    return r["table1"][TABLE1_ROWS[model]][column]


def _accuracy(r, model, split):
    return r["table5"][TABLE5_ROWS[model]][split]


def _table5_values(r):
    return {
        "own": {m: _accuracy(r, m, TABLE5_OWN[m]) for m in BIASED},
        "opposite": {m: _accuracy(r, m, TABLE5_OPPOSITE[m]) for m in BIASED},
        "unbiased_min": min(r["table5"]["Unbiased"].values()),
        "paper": PAPER_OPPOSITE,
    }


def _all_images(r, model, column):
    return r["all_images"][LABELS[model]][column]


def _ratio_values(r):
    return {
        "ratio": {m: _all_images(r, m, "fur / background") for m in SPLITS},
        "fur": {m: _all_images(r, m, "fur / E[|∇X|]") for m in SPLITS},
        "background": {m: _all_images(r, m, "background / E[|∇X|]") for m in SPLITS},
    }


def _flip_values(r):
    t = r["table2"]
    saliency = {row: max(v for k, v in cells.items() if k != "Ours") for row, cells in t.items()}
    majority = {row: 100 * max(f, 1 - f) for row, f in r["flipped_fraction"].items()}
    return {
        "ours": {row: cells["Ours"] for row, cells in t.items()},
        "best_saliency": saliency,
        "majority": majority,
    }


CLAIMS = [
    Claim(
        "real_fur_ordering_matches_authors",
        condition=_real_fur_ordering,
        holds=(
            'The ordering matches the authors\'. The model that learned "dark fur means cat" '
            "calls the dark dog a cat, and as the fur turns white its prediction flips to dog: "
            "it reacts most (E = {e[dark-cats]:.4f}), and it is the only one that flips. The "
            "unbiased model gives the dog a small cat probability that fades as the fur "
            'lightens (E = {e[unbiased]:.4f}), and the model that learned "dark fur means '
            'dog" is sure it sees a dog throughout (E = {e[dark-dogs]:.5f}).'
        ),
        fails=(
            "The three models were to react in the authors' order, with only the dark-cats "
            "model flipping; here E = {e[dark-cats]:.4f} (dark cats, {flips[dark-cats]} "
            "flips), {e[unbiased]:.4f} (unbiased, {flips[unbiased]}) and {e[dark-dogs]:.5f} "
            "(dark dogs, {flips[dark-dogs]})."
        ),
        values=_sweep_values,
    ),
    Claim(
        "real_fur_all_significant",
        condition=lambda r: all(r["authors_sweep"][m]["p"] < r["alpha"] for m in SPLITS),
        holds=(
            "Every one of the three changes is significant (p = {p[unbiased]:.4f}, "
            "{p[dark-cats]:.4f} and {p[dark-dogs]:.4f} for the unbiased, dark-cats and "
            "dark-dogs models)."
        ),
        fails=(
            "Not every change is significant at α = {alpha}: p = {p[unbiased]:.4f} "
            "(unbiased), {p[dark-cats]:.4f} (dark cats), {p[dark-dogs]:.4f} (dark dogs)."
        ),
        values=_sweep_values,
    ),
    Claim(
        "first_order_ends_close_part_of_the_gap",
        condition=lambda r: 0.0 < _conventions(r)["closed"] < 1.0,
        holds=(
            "For the dark-cats model, whose score differs most from the authors', their "
            "first-order ends move ours from {dc[ours]:.5f} to {dc[first-order ends]:.5f}, "
            "closing {closed:.0%} of the gap to their {dc[authors]:.5f}. The crop matters as "
            "much: two columns of figure margin less and the score rises by {crop_rise:.0%}, to "
            "{dc[tighter crop]:.5f}. What is left comes from the video: we score frames "
            "decoded from the compressed animation the authors published, not the edits "
            "themselves."
        ),
        fails=(
            "The authors' first-order ends were to move the dark-cats model's score part of "
            "the way towards theirs; here they give {dc[first-order ends]:.5f} against our "
            "{dc[ours]:.5f} and their {dc[authors]:.5f}."
        ),
        values=_conventions,
    ),
    Claim(
        "real_biased_fur_above_background",
        condition=lambda r: all(
            _table1(r, m, "Fur Color") > _table1(r, m, "Background") for m in BIASED
        ),
        holds=(
            "On this photo both biased models react more to the fur than to the background "
            "(dark cats: {table1[Dark Cats][Fur Color]:.5f} against "
            "{table1[Dark Cats][Background]:.5f}; dark dogs: {table1[Dark Dogs][Fur Color]:.5f} "
            "against {table1[Dark Dogs][Background]:.5f}), while the unbiased model reacts "
            "more to the background ({table1[Unbiased][Background]:.5f} against "
            "{table1[Unbiased][Fur Color]:.5f} for the fur)."
        ),
        fails=(
            "The biased models were to react more to the fur than to the background here; "
            "dark cats: fur {table1[Dark Cats][Fur Color]:.5f}, background "
            "{table1[Dark Cats][Background]:.5f}; dark dogs: fur "
            "{table1[Dark Dogs][Fur Color]:.5f}, background {table1[Dark Dogs][Background]:.5f}."
        ),
    ),
    Claim(
        "toy_accuracy_pattern",
        condition=lambda r: (
            _table5_values(r)["unbiased_min"] >= 80
            and all(v >= 80 for v in _table5_values(r)["own"].values())
            and all(v < 50 for v in _table5_values(r)["opposite"].values())
        ),
        holds=(
            "The pattern of the paper's Table 5 appears: the unbiased model is accurate on all "
            "three test splits (at least {unbiased_min:.1f} %), while each biased model is "
            "accurate on its own split and fails on the opposite one, where fur colour points "
            "to the wrong class."
        ),
        fails=(
            "The accuracies were to show the paper's pattern (unbiased model accurate "
            "everywhere, each biased model accurate on its own split and below chance on the "
            "opposite one); here the unbiased model's lowest is {unbiased_min:.1f} %, the "
            "biased models score {own[dark-cats]:.1f} % and {own[dark-dogs]:.1f} % on their "
            "own splits and {opposite[dark-cats]:.1f} % and {opposite[dark-dogs]:.1f} % on the "
            "opposite ones."
        ),
        values=_table5_values,
    ),
    Claim(
        "toy_shortcut_is_total",
        condition=lambda r: all(v < 20 for v in _table5_values(r)["opposite"].values()),
        holds=(
            "But ours fail far more completely than the paper's: on the opposite split they "
            "score {opposite[dark-cats]:.1f} % and {opposite[dark-dogs]:.1f} %, where the "
            "paper's sit near chance ({paper[dark-cats]} % and {paper[dark-dogs]} %). In the "
            "toy world fur is a *total* shortcut: the biased models decide by fur alone and "
            "ignore the shape that carries the label. The paper's models, trained on photos, "
            "kept part of what makes a cat a cat."
        ),
        fails=(
            "Our biased models were to decide by fur alone (below 20 % on the opposite split); "
            "here they score {opposite[dark-cats]:.1f} % and {opposite[dark-dogs]:.1f} % "
            "there (the paper's: {paper[dark-cats]} % and {paper[dark-dogs]} %)."
        ),
        values=_table5_values,
    ),
    Claim(
        "biased_models_follow_the_fur",
        condition=lambda r: (
            all(r["group_mean_flips"][m][g] > 0 for m in BIASED for g in GROUPS)
            and all(r["group_mean_flips"]["unbiased"][g] == 0 for g in GROUPS)
        ),
        holds=(
            "Both biased models follow the fur rather than the animal, each in the direction "
            "of its own bias: their mean prediction flips in all four groups, while the "
            "unbiased model's mean stays on the correct side of the threshold in every group."
        ),
        fails=(
            "The biased models' mean prediction was to flip in every group and the unbiased "
            "model's in none; the mean curves flip in these groups: dark cats "
            "{group_mean_flips[dark-cats]}, dark dogs {group_mean_flips[dark-dogs]}, unbiased "
            "{group_mean_flips[unbiased]}."
        ),
    ),
    Claim(
        "fur_far_above_background_for_biased",
        condition=lambda r: (
            all(_ratio_values(r)["ratio"][m] > 10 for m in BIASED) and r["fur_ranking_matches_bias"]
        ),
        holds=(
            "Because we planted the bias, we know the right answer, and the scores recover "
            "it: for the biased models fur matters far more than the background "
            "({ratio[dark-cats]:.0f} and {ratio[dark-dogs]:.0f} times as much), and both "
            "biased models react to fur far more than the unbiased one (E = "
            "{fur[dark-cats]:.4f} and {fur[dark-dogs]:.4f} against {fur[unbiased]:.4f})."
        ),
        fails=(
            "Fur was to matter far more than the background for the biased models, and more "
            "for them than for the unbiased model; here fur / background = "
            "{ratio[dark-cats]:.1f} and {ratio[dark-dogs]:.1f}, fur E = {fur[dark-cats]:.4f}, "
            "{fur[dark-dogs]:.4f} and {fur[unbiased]:.4f} (unbiased)."
        ),
        values=_ratio_values,
    ),
    Claim(
        "unbiased_reacts_to_background",
        condition=lambda r: _ratio_values(r)["ratio"]["unbiased"] < 2.0,
        holds=(
            "The unbiased model is a different story: it reacts to the background about as "
            "much as to the fur (E = {background[unbiased]:.4f} against {fur[unbiased]:.4f})."
        ),
        fails=(
            "The unbiased model reacts to the fur {ratio[unbiased]:.1f} times as much as to "
            "the background (E = {fur[unbiased]:.4f} against {background[unbiased]:.4f})."
        ),
        values=_ratio_values,
    ),
    Claim(
        "ten_images_mean_flips_as_paper",
        condition=lambda r: (
            all(
                (row["Pred. Flips"] > 0) == (not key.endswith("/ unbiased"))
                for key, row in r["table6"].items()
            )
            and all(row["Pred. Flips"] == 0 for row in r["table7"].values())
        ),
        holds=(
            "As the paper's text says of its Tables 6 and 7, the unbiased model is the only "
            "one whose mean prediction never flips under the fur edit, and under the "
            "background intervention no mean prediction flips."
        ),
        fails=(
            "The paper's pattern of mean flips (fur: every model but the unbiased one; "
            "background: none) does not hold here; see the flip columns of the two tables."
        ),
    ),
    Claim(
        "ours_leads_the_flip_task",
        condition=lambda r: all(
            _flip_values(r)["ours"][row] >= _flip_values(r)["best_saliency"][row]
            for row in r["table2"]
        ),
        holds=(
            "$\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ predicts flips at least as well as every "
            "saliency method for all three models (dark cats: {ours[Dark Cats Bias]:.1f} % "
            "against at best {best_saliency[Dark Cats Bias]:.1f} %; dark dogs: "
            "{ours[Dark Dogs Bias]:.1f} % against {best_saliency[Dark Dogs Bias]:.1f} %; "
            "unbiased: {ours[Unbiased]:.1f} % against {best_saliency[Unbiased]:.1f} %), as in "
            "the paper."
        ),
        fails=(
            "A saliency method predicts flips better than "
            "$\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ for at least one model: ours "
            "{ours[Dark Cats Bias]:.1f} / {ours[Dark Dogs Bias]:.1f} / {ours[Unbiased]:.1f} %, "
            "the best saliency method {best_saliency[Dark Cats Bias]:.1f} / "
            "{best_saliency[Dark Dogs Bias]:.1f} / {best_saliency[Unbiased]:.1f} % (dark cats "
            "/ dark dogs / unbiased)."
        ),
        values=_flip_values,
    ),
    Claim(
        "unbiased_flip_task_near_majority",
        condition=lambda r: (
            abs(
                _flip_values(r)["best_saliency"]["Unbiased"]
                - _flip_values(r)["majority"]["Unbiased"]
            )
            < 3.0
        ),
        holds=(
            "For the unbiased model few sweeps flip ({flipped_fraction[Unbiased]:.0%}), and "
            "the best saliency method ({best_saliency[Unbiased]:.1f} %) does no better than "
            'always answering "no flip" ({majority[Unbiased]:.1f} %), as in the paper.'
        ),
        fails=(
            "For the unbiased model {flipped_fraction[Unbiased]:.0%} of the sweeps flip; the "
            "best saliency method scores {best_saliency[Unbiased]:.1f} %, always answering the "
            "more common outcome {majority[Unbiased]:.1f} %."
        ),
        values=_flip_values,
    ),
    Claim(
        "summary_real_data",
        condition=lambda r: (
            _real_fur_ordering(r) and all(r["authors_sweep"][m]["p"] < r["alpha"] for m in SPLITS)
        ),
        holds=(
            "with the authors' released models and their real fur edit of one photo, the "
            "model biased towards dark cats reacts most and is the only one whose prediction "
            "flips, in the order the authors report, and every change is significant."
        ),
        fails=(
            "with the authors' released models and their real fur edit of one photo, the "
            "three models do not react in the order the authors report at these parameters."
        ),
    ),
    Claim(
        "summary_toy_world",
        condition=lambda r: (
            all(_ratio_values(r)["ratio"][m] > 10 for m in BIASED)
            and all(
                _flip_values(r)["ours"][row] >= _flip_values(r)["best_saliency"][row]
                for row in r["table2"]
            )
        ),
        holds=(
            "in a toy world with the same bias planted, fur moves the biased models far more "
            "than the background, and the score predicts flips at least as well as six "
            "saliency methods."
        ),
        fails=(
            "in a toy world with the same bias planted, the scores do not single out fur or do "
            "not lead the flip task at these parameters."
        ),
    ),
    Claim(
        "planted_bias_found_globally",
        condition=lambda r: (
            r["table9_vote"]["dark fur = cats"]["Fur Color"]
            and r["table9_vote"]["dark fur = dogs"]["Fur Color"]
        ),
        holds=(
            "The majority vote finds the planted fur bias in both biased models, as in the "
            "paper's Table 9. It also says that {others}; the paper's vote calls the fur used "
            "by all three models and the background by the two biased ones."
        ),
        fails=(
            "The majority vote does not find the planted fur bias in both biased models "
            "(votes: {votes})."
        ),
        values=lambda r: _votes(r),
    ),
    Claim(
        "ci_tests_disagree",
        condition=lambda r: _disagreements(r)["n"] > 0,
        holds=(
            "As in the paper, the three tests do not always agree: in {n} of the {cells} "
            "cells one test contradicts the other two ({where}). The decision hangs on the "
            "choice of test, the main hyperparameter of this baseline."
        ),
        fails="Here the three tests agree in every cell.",
        values=lambda r: _disagreements(r),
    ),
    Claim(
        "global_used_local_small",
        condition=lambda r: (
            bool(r["global_vs_local"])
            and r["global_vs_local"]["smallest"]["E"] < r["global_vs_local"]["median_E"] / 5
        ),
        holds=(
            "The global vote calls the {prop} used by the {model} model. Image by image the "
            "answer differs: on its least affected image the score is "
            "{small:.5f} ({small_sig}), on its most affected {large:.4f}, with a median of "
            "{median:.4f}. The global test says that a property is used somewhere; the local "
            "score says on which image, and how much."
        ),
        fails=(
            "Where the global vote calls a property used, the local scores do not vary much "
            "here: {detail}."
        ),
        values=lambda r: _global_local(r),
    ),
    Claim(
        "concepts_track_brightness",
        condition=lambda r: _concept_names(r)["n_fur"] == 0,
        holds=(
            "None of the {n_top} top concepts is named by the fur: every one tracks the "
            "brightness of the background best ({names}). Naming by correlation favours the "
            "property that varies over most patches, and most patches are background; the "
            "concepts say that these models respond to brightness, not which part of the "
            "picture carries their shortcut. The paper found its concept names as hard to read "
            '(its Table 8: "vehicles", "cabinets" or "armor" for a cat).'
        ),
        fails=(
            "{n_fur} of the {n_top} top concepts are named by a fur property ({names}): here "
            "the discovered concepts point at the fur."
        ),
        values=lambda r: _concept_names(r),
    ),
    Claim(
        "tcav_sees_the_dark_cats_bias",
        condition=lambda r: (
            r["tcav"]["Dark cats bias"]["dark fur"] >= 0.8
            and r["tcav"]["Dark cats bias"]["dark fur"] > r["tcav"]["Dark dogs bias"]["dark fur"]
        ),
        holds=(
            "TCAV sees the dark-cats model's bias: dark fur raises its cat logit for "
            "{tcav[Dark cats bias][dark fur]:.0%} of the cat images, against "
            "{tcav[Dark dogs bias][dark fur]:.0%} for the dark-dogs model. For the unbiased "
            "model it gives {tcav[Unbiased][dark fur]:.0%}, although that model's local fur "
            "scores are {fur_ratio:.1f} times smaller than the biased models': a TCAV score "
            "depends on the concept's example images, which differ from random images in more "
            "than one property, as much as on the model."
        ),
        fails=(
            "TCAV does not single out the dark-cats model's bias here: dark fur raises the "
            "cat logit for {tcav[Dark cats bias][dark fur]:.0%} of cat images (dark-cats "
            "model) and {tcav[Dark dogs bias][dark fur]:.0%} (dark-dogs model)."
        ),
        values=lambda r: {"fur_ratio": _biased_over_unbiased_fur(r)},
    ),
]


def _votes(r):
    votes = r["table9_vote"]
    unbiased = votes["unbiased model"]
    parts = [
        f"the unbiased model {'uses' if used else 'does not use'} the {prop.lower()}"
        for prop, used in unbiased.items()
    ]
    background = [m for m in ("dark fur = cats", "dark fur = dogs")
                  if votes[m]["Background Color"]]  # fmt: skip
    parts.append(
        "the biased models use the background color"
        if len(background) == 2
        else f"{len(background)} of the two biased models use the background color"
    )
    return {"others": ", ".join(parts[:-1]) + " and " + parts[-1], "votes": votes}


def _disagreements(r):
    where = []
    for model, cells in r["table9"].items():
        for prop, tests in cells.items():
            rejected = [p < 0.05 for p in tests.values()]
            if 0 < sum(rejected) < len(rejected):
                where.append(f"{model}, {prop.lower()}")
    cells = sum(len(c) for c in r["table9"].values())
    return {"n": len(where), "cells": cells, "where": "; ".join(where) or "none"}


def _global_local(r):
    case = r["global_vs_local"]
    if not case:
        return {"detail": "no property is called used", "prop": "", "model": "", "small": 0.0,
                "large": 0.0, "median": 0.0, "small_sig": ""}  # fmt: skip
    return {
        "prop": case["property"].lower(),
        "model": LABELS[case["model"]],
        "small": case["smallest"]["E"],
        "small_sig": "significant" if case["smallest"]["significant"] else "not significant",
        "large": case["largest"]["E"],
        "median": case["median_E"],
        "detail": (
            f"{case['property'].lower()} and the {LABELS[case['model']]} model, smallest E "
            f"{case['smallest']['E']:.5f} against a median of {case['median_E']:.5f}"
        ),
    }


def _concept_names(r):
    names = [row["name"] for row in r["table8"].values()]
    return {
        "n_top": len(names),
        "n_fur": sum("fur" in n for n in names),
        "names": ", ".join(f"{k}: {row['name']}" for k, row in r["table8"].items()),
    }


def _biased_over_unbiased_fur(r):
    fur = _ratio_values(r)["fur"]
    return min(fur["dark-cats"], fur["dark-dogs"]) / fur["unbiased"]
