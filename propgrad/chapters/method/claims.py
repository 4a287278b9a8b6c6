"""What the method chapter states about its results, as checked claims."""

from __future__ import annotations

from scipy.stats import binom

from propgrad.claims import Claim

SMOOTH = ("sine", "parabola", "step")


def _noise_values(r):
    return {"smooth_max": max(r[f"{s}_gradient"] for s in SMOOTH)}


def _fpr_values(r):
    n, alpha = r["noise_batch_size"], r["alpha"]
    # the most rejections chance allows in 999 of 1,000 runs of the batch
    bound = int(binom.ppf(0.999, n, alpha))
    return {"rejected": round(r["false_positive_rate"] * n), "bound": bound}


def _edge_values(r):
    ratio = r["edge_order_ratio"]
    return {"less_short": 1 - ratio["short"], "less_long": 1 - ratio["long"]}


CLAIMS = [
    Claim(
        "noise_large_but_not_significant",
        condition=lambda r: (
            not r["noise_gradient_significant"]
            and r["noise_gradient"] > _noise_values(r)["smooth_max"]
        ),
        holds=(
            "**Noise** scores higher than the sine, the parabola and the step "
            "(E = {noise_gradient:.2f} against at most {smooth_max:.2f}), yet the test does "
            "not call it significant (p = {noise_gradient_p:.2f}): its shuffles are just as "
            "rough. A big number is not enough."
        ),
        fails=(
            "Noise was to score higher than the smooth signals and yet not be significant; "
            "here its E = {noise_gradient:.2f} (the smooth signals' largest: {smooth_max:.2f}) "
            "with p = {noise_gradient_p:.4f}."
        ),
        values=_noise_values,
    ),
    Claim(
        "gradient_sees_what_pearson_misses",
        condition=lambda r: all(
            r[f"{s}_gradient_significant"]
            and not r[f"{s}_pearson_significant"]
            and abs(r[f"{s}_pearson"]) < 0.1
            for s in ("sine", "parabola")
        ),
        holds=(
            "**Sine and parabola** are clearly systematic, and the gradient-based test flags "
            "both (p = {sine_gradient_p:.4f} and {parabola_gradient_p:.4f}), but Pearson's "
            "$\\rho$ is close to zero ({sine_pearson:+.3f} and {parabola_pearson:+.3f}) and not "
            "significant: neither signal has a linear trend. This is the case the paper has in "
            "mind with hair colour, where an effect could rise and then fall again along the "
            "sweep."
        ),
        fails=(
            "The gradient test was to flag the sine and the parabola while Pearson's $\\rho$ "
            "stays near zero and not significant; here: gradient p = {sine_gradient_p:.4f} and "
            "{parabola_gradient_p:.4f}, $\\rho$ = {sine_pearson:+.3f} (p = {sine_pearson_p:.4f}) "
            "and {parabola_pearson:+.3f} (p = {parabola_pearson_p:.4f})."
        ),
    ),
    Claim(
        "step_flagged_by_both",
        condition=lambda r: r["step_gradient_significant"] and r["step_pearson_significant"],
        holds=(
            "**Step**: both statistics flag it (p = {step_gradient_p:.4f} and "
            "{step_pearson_p:.4f}). Its derivative does not exist at the jump, but finite "
            "differences on the sampled sweep are well defined, so a sudden flip in a model's "
            "prediction is measured like any other change."
        ),
        fails=(
            "Both statistics were to flag the step; here the gradient test gives "
            "p = {step_gradient_p:.4f} and the correlation test p = {step_pearson_p:.4f}."
        ),
    ),
    Claim(
        "zigzag_above_every_shuffle",
        condition=lambda r: (
            r["zigzag_gradient_significant"]
            and r["zigzag_gradient"] > r["zigzag_gradient_null_mean"]
            and r["zigzag_gradient_p"] <= 1.5 / (r["n_permutations"] + 1)
        ),
        holds=(
            "**Zigzag**: with forward differences it has the largest score of all "
            "(E = {zigzag_gradient:.2f}, every step changes the output by 1), far *above* every "
            "one of its shuffles (their mean: {zigzag_gradient_null_mean:.2f}), so its p-value "
            "is the smallest possible, {zigzag_gradient_p:.4f}. The two-sided test catches "
            "this as well."
        ),
        fails=(
            "The zigzag was to score above every shuffle; here E = {zigzag_gradient:.2f}, the "
            "shuffles' mean is {zigzag_gradient_null_mean:.2f} and p = {zigzag_gradient_p:.4f}."
        ),
    ),
    Claim(
        "false_positive_rate_near_alpha",
        condition=lambda r: _fpr_values(r)["rejected"] <= _fpr_values(r)["bound"],
        holds=(
            "The test rejected {rejected} of {noise_batch_size} noise sequences, a "
            "false-positive rate of {false_positive_rate:.1%}: within what chance allows at "
            "$\\alpha$ = {alpha} (at most {bound} rejections in 999 of 1,000 such batches)."
        ),
        fails=(
            "The test rejected {rejected} of {noise_batch_size} noise sequences "
            "({false_positive_rate:.1%}), more than chance allows at $\\alpha$ = {alpha} "
            "(at most {bound} in 999 of 1,000 batches)."
        ),
        values=_fpr_values,
    ),
    Claim(
        "first_order_ends_shrink_short_sweeps",
        condition=lambda r: r["edge_order_ratio"]["short"] < r["edge_order_ratio"]["long"] < 1.0,
        holds=(
            "On shuffled (rough) outputs the first-order ends make "
            "$\\mathbb{{E}}[|\\nabla_\\mathsf{{X}}|]$ {less_short:.0%} smaller at "
            "{edge_order_points[short]} points and {less_long:.0%} smaller at "
            "{edge_order_points[long]}: the two end points weigh less in a longer sweep."
        ),
        fails=(
            "The first-order ends were to make the score smaller, more so on short sweeps; "
            "here the ratio is {edge_order_ratio[short]:.3f} at {edge_order_points[short]} "
            "points and {edge_order_ratio[long]:.3f} at {edge_order_points[long]}."
        ),
        values=_edge_values,
    ),
]
