"""The paper's concept baselines for Cats vs. Dogs: Table 8, Figs. 19-21 and TCAV.

Appendix B.5 discovers concepts in the last convolutional features of each
model with ConceptSHAP's procedure on a probing set, keeps the three most
important for the cat class with their six closest patches (Figs. 19-21) and
names them by CLIP text probing (Table 8). The core does the work
(:mod:`propgrad.baselines.concepts`); this module runs it for the chapter's
three models and lays the results out under the paper's labels. The data
sources give the probing images, name the concepts (by the toy world's known
properties, or by CLIP over a word list) and give the images of the two known
concepts for TCAV (dark fur, bright background).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from propgrad.worlds.cats_dogs import SPLITS

#: Table 8's row labels of the three models.
TABLE8_ROWS = {"unbiased": "Unbiased", "dark-cats": "Dark cats bias",
               "dark-dogs": "Dark dogs bias"}  # fmt: skip

#: The two known concepts whose TCAV scores the chapter reports.
TCAV_CONCEPTS = ("dark fur", "bright background")

#: The paper's Table 8: SHAP value, central word and closest words of the top
#: three CAVs per model (Google 20K words, CLIP; no computation of ours).
TABLE8: dict[str, dict[str, Any]] = {
    "Unbiased / 1": {"SHAP": 0.400, "name": "cats",
                     "closest": "kitts, cats, katz, cat, lynx"},
    "Unbiased / 2": {"SHAP": 0.295, "name": "cabinets",
                     "closest": "cabinets, dresser, furniture, cabinet, furnishing"},
    "Unbiased / 3": {"SHAP": 0.210, "name": "products",
                     "closest": "products, shipment, casserole, product, coatings"},
    "Dark cats bias / 1": {"SHAP": 0.860, "name": "vehicles",
                           "closest": "vehicles, vehicle, automobiles, wagon, decks"},
    "Dark cats bias / 2": {"SHAP": 0.827, "name": "armor",
                           "closest": "black, equipment, armor, exhibitor, overstock"},
    "Dark cats bias / 3": {"SHAP": -0.008, "name": "lights",
                           "closest": "nightlife, candle, lights, flashlight, darkness"},
    "Dark dogs bias / 1": {"SHAP": 0.780, "name": "kitten",
                           "closest": "beige, kitten, persian, cygwin, mimi"},
    "Dark dogs bias / 2": {"SHAP": 0.565, "name": "room",
                           "closest": "room, bed, condosaver, white, resulting"},
    "Dark dogs bias / 3": {"SHAP": 0.026, "name": "cat",
                           "closest": "cat, cats, kitten, kitts, persian"},
}  # fmt: skip


def discover(
    models: Mapping[str, Any], images: Any, *, seed: int = 0, **options: Any
) -> dict[str, Any]:
    """ConceptSHAP discovery for every model on one probing set (the cat class).

    Parameters
    ----------
    models : mapping
        Split -> classifier.
    images : ndarray
        The probing images, uint8 (N, H, W, 3).
    seed : int, optional
        Seeds the clustering, the CAVs and the Shapley sampling.
    **options
        For :func:`propgrad.baselines.concepts.discover_concepts` (e.g.
        ``n_clusters``).

    Returns
    -------
    dict
        ``{"patches": Patches, "discoveries": {split: ConceptDiscovery}}``;
        the superpixel patches are cut once and shared by the three models.
    """
    from propgrad.baselines.concepts import concept_patches, discover_concepts

    patches = concept_patches(images)
    return {
        "patches": patches,
        "discoveries": {
            m: discover_concepts(models[m], patches, target="cat", seed=seed, **options)
            for m in SPLITS
        },
    }


def table8(
    discoveries: Mapping[str, Any],
    names: Mapping[str, list[Any]],
    *,
    top: int = 3,
    results: Any = None,
) -> dict[str, dict[str, Any]]:
    """Table 8: the top concepts of each model, their SHAP values and names.

    Parameters
    ----------
    discoveries : mapping
        Split -> :class:`~propgrad.baselines.concepts.ConceptDiscovery`.
    names : mapping
        Split -> one name per concept (a
        :class:`~propgrad.baselines.concepts.PropertyName` or
        :class:`~propgrad.baselines.concepts.ClipName`), from the data
        source's ``name_concepts``.
    top : int, optional
        Concepts per model (the paper: three).
    results : Results, optional
        Records ``table8``.

    Returns
    -------
    dict
        ``"<model> / <rank>"`` -> ``{"SHAP", "name", "r"}`` (named by a
        property, with its correlation) or ``{"SHAP", "name", "closest"}``
        (named by CLIP, with the closest words).
    """
    table: dict[str, dict[str, Any]] = {}
    for m in SPLITS:
        d = discoveries[m]
        for rank, concept in enumerate(d.top(top), start=1):
            name = names[m][int(concept)]
            row = {"SHAP": float(d.shap[int(concept)])}
            if hasattr(name, "correlation"):
                row |= {"name": name.name, "r": float(name.correlation)}
            else:
                row |= {"name": name.central, "closest": ", ".join(name.closest)}
            table[f"{TABLE8_ROWS[m]} / {rank}"] = row
    if results is not None:
        results.add_table("table8", table)
    return table


def tcav(
    models: Mapping[str, Any], sets: Mapping[str, Any], *, seed: int = 0, results: Any = None
) -> dict[str, dict[str, float]]:
    """TCAV scores of the known concepts for the cat class, per model.

    Parameters
    ----------
    models : mapping
        Split -> classifier.
    sets : mapping
        A data source's ``tcav_sets``: ``inputs`` (cat images), ``concepts``
        (name -> images) and ``random`` (random images).
    seed : int, optional
        Seeds the random splits of TCAV's runs.
    results : Results, optional
        Records ``tcav``.

    Returns
    -------
    dict
        Table 8's row label -> concept -> score in [0, 1] (the fraction of
        cat images whose cat logit rises along the concept's CAV).
    """
    from propgrad.baselines.concepts import tcav_scores

    table = {
        TABLE8_ROWS[m]: {
            name: float(score)
            for name, score in tcav_scores(
                models[m],
                sets["inputs"],
                sets["concepts"],
                sets["random"],
                target="cat",
                seed=seed,
            ).items()
        }  # fmt: skip
        for m in SPLITS
    }
    if results is not None:
        results.add_table("tcav", table)
    return table
