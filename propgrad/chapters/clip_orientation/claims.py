"""What the CLIP chapter states about its results, as checked claims.

Turntable recordings and class texts are keyed by the paper's object names
(Elephant, Giraffe, Stegosaurus); rotations by the axis ("x", "y", "z").
"""

from __future__ import annotations

from propgrad.chapters.clip_orientation.paper import TABLE15
from propgrad.claims import Claim


def _near(angle, centres, width=45.0):
    return any(abs((angle - c + 180.0) % 360.0 - 180.0) <= width for c in centres)


def _names(labels):
    labels = list(labels)
    if not labels:
        return "none"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _turntable(r):
    side = r["side_minus_front"]
    lowest = r["turntable_lowest_angle"]
    return {
        "side_text": ", ".join(f"{o} {v:+.3f}" for o, v in side.items()),
        "lowest_text": ", ".join(f"{o} {v:.0f}°" for o, v in lowest.items()),
        "front_back": all(_near(v, (90.0, 270.0)) for v in lowest.values()),
    }


def _half_turn(r):
    drop = r["upright_minus_upside_down"]
    return {"drop": drop, "lowest": r["lowest_angle"]}


def _significance(r):
    own = [r["table14_p"][o][o] for o in r["table14_p"]]
    axes = list(r["table15_p"].values())
    return {"largest_p": max(own + axes), "n_tests": len(own) + len(axes)}


def _own_class(r):
    lowest = {o: min(row, key=row.get) for o, row in r["table14"].items()}
    return {"own": [o for o, c in lowest.items() if c == o], "lowest": lowest}


def _order(values):
    return [k for k, _ in sorted(values.items(), key=lambda kv: -kv[1])]


def _table15_order(r):
    ours = _order(r["table15"])
    paper = _order({a: TABLE15[f"{a}-axis"]["Frog Texts"] for a in r["table15"]})
    return {"ours": " > ".join(ours), "paper": " > ".join(paper), "same": ours == paper}


CLAIMS = [
    Claim(
        "side_views_score_highest_on_the_turntable",
        condition=lambda r: (
            all(v > 0 for v in r["side_minus_front"].values()) and _turntable(r)["front_back"]
        ),
        holds=(
            "On the turntable the toy CLIP's similarity to the right class is higher near the "
            "two side views than near front and back views, for every recording (side minus "
            "front/back: {side_text}), with its lowest points at front or back views "
            "({lowest_text})."
        ),
        fails=(
            "The similarity to the right class was to be higher near side views than near "
            "front and back views, with its lowest points at front or back views; here side "
            "minus front/back is {side_text} and the lowest points lie at {lowest_text}."
        ),
        values=_turntable,
    ),
    Claim(
        "upside_down_drops_most",
        condition=lambda r: (
            min(_half_turn(r)["drop"]["x"], _half_turn(r)["drop"]["y"])
            > max(_half_turn(r)["drop"]["z"], 0.0)
            and all(_near(r["lowest_angle"][a], (180.0,)) for a in ("x", "y"))
        ),
        holds=(
            "Turned about the horizontal (`x`) or the viewing axis (`y`) it drops far more "
            "(start minus half turn: {drop[x]:+.3f} and {drop[y]:+.3f}, against {drop[z]:+.3f} "
            "about the vertical axis), to its lowest near the upside-down pose (at "
            "{lowest[x]:.0f}° and {lowest[y]:.0f}°)."
        ),
        fails=(
            "The turns about `x` and `y` were to drop the similarity most, to its lowest near "
            "the upside-down pose; here start minus half turn is {drop[x]:+.3f} (x), "
            "{drop[y]:+.3f} (y) and {drop[z]:+.3f} (z), lowest at {lowest[x]:.0f}° and "
            "{lowest[y]:.0f}°."
        ),
        values=_half_turn,
    ),
    Claim(
        "vertical_turn_dips_at_front_and_back",
        condition=lambda r: _near(r["lowest_angle"]["z"], (90.0, 270.0)),
        holds=(
            "The turn about the vertical axis, which keeps the animal upright, dips only at "
            "front and back views (lowest at {lowest_angle[z]:.0f}°)."
        ),
        fails=(
            "The turn about the vertical axis was to dip at a front or back view; its lowest "
            "point is at {lowest_angle[z]:.0f}°."
        ),
    ),
    Claim(
        "every_orientation_change_significant",
        condition=lambda r: _significance(r)["largest_p"] < r["alpha"],
        holds=(
            "Every one of these changes is significant under the periodic shuffle test (all "
            "{n_tests} p-values of the own class and the three axes at most {largest_p:.4f})."
        ),
        fails=(
            "Not every change is significant at α = {alpha}: the largest of the {n_tests} "
            "p-values is {largest_p:.4f}."
        ),
        values=_significance,
    ),
    Claim(
        "own_class_moves_least",
        condition=lambda r: len(_own_class(r)["own"]) == len(r["table14"]),
        holds=(
            "In Table 14 each recording's lowest score is the one for its own class, as in "
            "the paper's table (where the elephant's two lowest tie): the similarity to the "
            "right class, the highest one, moves least."
        ),
        fails=(
            "In Table 14 the lowest score of a recording was to be its own class's; here the "
            "lowest are {lowest}."
        ),
        values=_own_class,
    ),
    Claim(
        "axis_order_differs_from_the_papers",
        condition=lambda r: not _table15_order(r)["same"],
        holds=(
            "Their order in Table 15 differs from the paper's too (ours: {ours}; the paper's: "
            "{paper})."
        ),
        fails="Their order in Table 15 is the paper's ({paper}).",
        values=_table15_order,
    ),
    Claim(
        "summary_toy_clip",
        condition=lambda r: (
            all(v > 0 for v in r["side_minus_front"].values())
            and all(_near(r["lowest_angle"][a], (180.0,)) for a in ("x", "y"))
        ),
        holds=(
            "a toy CLIP with a planted pose bias scores side views above front and back views "
            "and upside-down views lowest, and the scores find that bias; CLIP itself is not "
            "re-measured here."
        ),
        fails=(
            "a toy CLIP with a planted pose bias does not show the planted pattern at these "
            "parameters; CLIP itself is not re-measured here."
        ),
    ),
]
