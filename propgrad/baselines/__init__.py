"""Local attribution baselines and the "will this intervention flip the prediction?" task.

The paper compares E[|∇X|] with six local attribution methods from captum
(Table 2, appendix B.4) on one task: predict from a score whether an
intervention flips the model's decision. One job per module:

attributions
    :data:`METHODS`, :data:`METHOD_LABELS` (the paper's column labels),
    :func:`attribute` (captum maps for a :class:`~propgrad.models.Classifier`
    or a module plus its :class:`~propgrad.models.Preprocess`) and
    :func:`attribution_change` (mean squared change of a map under an
    intervention), and :func:`plot_attributions` (both maps of a picture and
    its intervened version in one figure).
layers
    :func:`gradcam_layer`: the feature map Guided Grad-CAM explains, per
    architecture family (last conv on a spatial map for CNNs, the tokens
    entering the last block for ViTs, the last stage for Swin), and the
    :class:`GradCamView` wrapper that exposes a transformer's tokens as a map.
superpixels
    :func:`slic_superpixels`: SLIC segments of the un-normalised images, the
    features of LIME and Kernel SHAP.
fliptask
    :func:`flip_task_scores` (flips, E[|∇X|] and attribution changes along
    many sweeps, cached and resumable), :func:`best_threshold_accuracy` and
    :func:`flip_prediction_task` (accuracy at the best threshold over
    class-balanced resamples), :func:`flip_task` (both in one call) and
    :func:`flip_task_table` (Table 2's layout in percent).
conditional
    :func:`conditional_independence`: the global baseline of appendix B.5
    (Table 9), a conditional-independence test of "prediction ⟂ property |
    label" by partial correlation, CMIknn or conditional HSIC (KCI), giving a
    :class:`CITestResult`; :data:`CI_TESTS` names the three and
    :func:`majority_vote` is the paper's decision over them.
concepts
    The concept baselines of appendix B.5 (Table 8, Figs. 19-21):
    :func:`discover_concepts` (ACE patches from :func:`concept_patches`,
    k-means on :func:`layer_activations`, CAVs trained with captum, duplicates
    merged by :func:`merge_duplicate_cavs`, ConceptSHAP importance by
    :func:`concept_shap` / :func:`concept_completeness` /
    :func:`shapley_values`) giving a :class:`ConceptDiscovery`;
    :func:`name_by_properties` and :func:`name_by_clip` (CLIP text probing,
    the paper's [69]) name the concepts, :func:`plot_concepts` draws the top
    CAVs with their closest patches, and :func:`tcav_scores` gives captum's
    TCAV scores of user-given concepts.

Names are loaded lazily on first access (PEP 562): the statistics of the flip
task work without torch, the conditional-independence tests import their
libraries (tigramite, causal-learn) only when run, and importing this package
imports nothing heavy.
The figure itself is :func:`propgrad.plots.plot_attribution_pair`; the
paper's Table 2 numbers are in :mod:`propgrad.chapters.cats_vs_dogs.paper` and
:mod:`propgrad.chapters.skin_lesions.paper`.
"""

from __future__ import annotations

from propgrad._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "METHODS": "propgrad.baselines.attributions",
    "METHOD_LABELS": "propgrad.baselines.attributions",
    "attribute": "propgrad.baselines.attributions",
    "attribution_change": "propgrad.baselines.attributions",
    "plot_attributions": "propgrad.baselines.attributions",
    "GradCamLayer": "propgrad.baselines.layers",
    "GradCamView": "propgrad.baselines.layers",
    "TokenMap": "propgrad.baselines.layers",
    "gradcam_layer": "propgrad.baselines.layers",
    "last_conv_layer": "propgrad.baselines.layers",
    "slic_superpixels": "propgrad.baselines.superpixels",
    "FlipTaskResult": "propgrad.baselines.fliptask",
    "FlipTaskScores": "propgrad.baselines.fliptask",
    "best_threshold_accuracy": "propgrad.baselines.fliptask",
    "flip_prediction_task": "propgrad.baselines.fliptask",
    "flip_task_scores": "propgrad.baselines.fliptask",
    "FlipTask": "propgrad.baselines.fliptask",
    "flip_task": "propgrad.baselines.fliptask",
    "flip_task_table": "propgrad.baselines.fliptask",
    "CI_TESTS": "propgrad.baselines.conditional",
    "CITestResult": "propgrad.baselines.conditional",
    "conditional_independence": "propgrad.baselines.conditional",
    "majority_vote": "propgrad.baselines.conditional",
    "ACE_COMPACTNESS": "propgrad.baselines.concepts",
    "ACE_SEGMENTS": "propgrad.baselines.concepts",
    "DUPLICATE_COSINE": "propgrad.baselines.concepts",
    "ClipName": "propgrad.baselines.concepts",
    "ConceptDiscovery": "propgrad.baselines.concepts",
    "ConceptShap": "propgrad.baselines.concepts",
    "Patches": "propgrad.baselines.concepts",
    "PooledCAVClassifier": "propgrad.baselines.concepts",
    "PropertyName": "propgrad.baselines.concepts",
    "concept_completeness": "propgrad.baselines.concepts",
    "concept_patches": "propgrad.baselines.concepts",
    "concept_shap": "propgrad.baselines.concepts",
    "discover_concepts": "propgrad.baselines.concepts",
    "layer_activations": "propgrad.baselines.concepts",
    "merge_duplicate_cavs": "propgrad.baselines.concepts",
    "name_by_clip": "propgrad.baselines.concepts",
    "name_by_properties": "propgrad.baselines.concepts",
    "plot_concepts": "propgrad.baselines.concepts",
    "shapley_values": "propgrad.baselines.concepts",
    "tcav_scores": "propgrad.baselines.concepts",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports("propgrad.baselines", globals(), _EXPORTS)
