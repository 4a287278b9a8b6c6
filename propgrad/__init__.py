"""propgrad: local interventional explanations with property gradients.

Data flows one way through the package::

    intervention -> images (Sweep) -> model outputs -> measure / stats -> report

``import propgrad`` is cheap: it never imports torch. Every public name below is
loaded from its module on first access (PEP 562), so the numerical core
(:mod:`propgrad.measure`, :mod:`propgrad.stats`) works without torch installed.
"""

from __future__ import annotations

from propgrad._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # measure: finite differences and the expected property gradient magnitude
    "fornberg_weights": "propgrad.measure",
    "property_gradients": "propgrad.measure",
    "expected_property_gradient": "propgrad.measure",
    "prediction_flips": "propgrad.measure",
    "pearson_rho": "propgrad.measure",
    # stats: the shuffle (permutation) test
    "shuffle_test": "propgrad.stats",
    "ShuffleTestResult": "propgrad.stats",
    "holm_bonferroni": "propgrad.stats",
    # the common sweep type and running a model over it
    "Sweep": "propgrad.sweep",
    "load_sweep": "propgrad.sweep",
    "predict": "propgrad.prediction",
    "predict_sweeps": "propgrad.prediction",
    # scores: models x sweeps, per sweep and the mean behaviour of groups
    "score_models": "propgrad.scores",
    "Scores": "propgrad.scores",
    "mean_behaviour": "propgrad.scores",
    "MeanBehaviour": "propgrad.scores",
    "sweep_scores": "propgrad.scores",
    "behaviour_table": "propgrad.scores",
    "sweep_viewer": "propgrad.viewer",
    # reports: one sweep in one call; tables beside the paper's
    "explain": "propgrad.explanation",
    "ExplainReport": "propgrad.explanation",
    "beside_paper": "propgrad.tables",
    "table_record": "propgrad.tables",
    # interventions: designed operations, captured frames, an image editor
    "background_sweep": "propgrad.interventions.designed",
    "alpha_blend_sweep": "propgrad.interventions.designed",
    "frames_from_video": "propgrad.interventions.video",
    "load_authors_dog_sweep": "propgrad.interventions.video",
    "instruct_pix2pix_sweep": "propgrad.interventions.instruct_pix2pix",
    "instruct_pix2pix_grid": "propgrad.interventions.instruct_pix2pix",
    "paper_text_scales": "propgrad.interventions.instruct_pix2pix",
    "load_instruct_pix2pix": "propgrad.interventions.instruct_pix2pix",
    "edit_sweeps": "propgrad.interventions.instruct_pix2pix",
    "Editor": "propgrad.interventions.instruct_pix2pix",
    "load_turntable": "propgrad.interventions.turntable",
    # 3D objects rotated in front of a fixed camera
    "Mesh": "propgrad.meshes",
    "load_mesh": "propgrad.meshes",
    "render_rotation": "propgrad.interventions.render3d",
    # models and the external files they come from
    "create_classifier": "propgrad.models.classifier",
    "Classifier": "propgrad.models.classifier",
    "Preprocess": "propgrad.models.preprocess",
    "load_cvd_convmixer": "propgrad.models.authors",
    "cvd_preprocess": "propgrad.models.authors",
    "load_cvd_image": "propgrad.models.authors",
    "ConvMixer": "propgrad.models.convmixer",
    "fit": "propgrad.train",
    "TrainSettings": "propgrad.train",
    # heavy independent tasks: locally or on a Dask cluster
    "run_tasks": "propgrad.tasks",
    "fetch_asset": "propgrad.assets",
    "list_assets": "propgrad.assets",
    "asset_credits": "propgrad.assets",
    "AssetNotFoundError": "propgrad.assets",
    "AssetChecksumError": "propgrad.assets",
    # baselines: captum attributions and the flip-prediction task
    "METHODS": "propgrad.baselines.attributions",
    "METHOD_LABELS": "propgrad.baselines.attributions",
    "attribute": "propgrad.baselines.attributions",
    "attribution_change": "propgrad.baselines.attributions",
    "gradcam_layer": "propgrad.baselines.layers",
    "slic_superpixels": "propgrad.baselines.superpixels",
    "best_threshold_accuracy": "propgrad.baselines.fliptask",
    "flip_prediction_task": "propgrad.baselines.fliptask",
    "FlipTaskResult": "propgrad.baselines.fliptask",
    "flip_task_scores": "propgrad.baselines.fliptask",
    "FlipTaskScores": "propgrad.baselines.fliptask",
    # profiles and recorded results of notebooks
    "resolve_profile": "propgrad.profiles",
    "Results": "propgrad.record",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, __dir__ = lazy_exports("propgrad", globals(), _EXPORTS)
