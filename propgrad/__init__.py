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

# public name -> module that defines it. The top level is the method and the
# calls a user makes on their own model and images; everything else is imported
# from its module (propgrad.baselines, propgrad.worlds, propgrad.claims, ...), and
# what only one chapter of the book needs lives in propgrad.chapters.<chapter>.
_EXPORTS: dict[str, str] = {
    # measure and test: finite differences, E[|∇X|], flips, the shuffle test
    "fornberg_weights": "propgrad.measure",
    "property_gradients": "propgrad.measure",
    "expected_property_gradient": "propgrad.measure",
    "prediction_flips": "propgrad.measure",
    "pearson_rho": "propgrad.measure",
    "shuffle_test": "propgrad.stats",
    "holm_bonferroni": "propgrad.stats",
    # the sweep type and the interventions that make sweeps
    "Sweep": "propgrad.sweep",
    "load_sweep": "propgrad.sweep",
    "background_sweep": "propgrad.interventions.designed",
    "alpha_blend_sweep": "propgrad.interventions.designed",
    "frames_from_video": "propgrad.interventions.video",
    "load_turntable": "propgrad.interventions.turntable",
    "instruct_pix2pix_sweep": "propgrad.interventions.instruct_pix2pix",
    "edit_sweeps": "propgrad.interventions.instruct_pix2pix",
    "load_mesh": "propgrad.meshes",
    "render_rotation": "propgrad.interventions.render3d",
    # models, their outputs along sweeps, and the scores
    "create_classifier": "propgrad.models.classifier",
    "fit": "propgrad.train",
    "predict": "propgrad.prediction",
    "score_models": "propgrad.scores",
    "mean_behaviour": "propgrad.scores",
    "explain": "propgrad.explanation",
    "measure_property": "propgrad.measured",
    "sweep_viewer": "propgrad.viewer",
    # many heavy tasks: in this process, a process pool or a Dask cluster
    "run_tasks": "propgrad.tasks",
    # notebooks: profiles, the results record, our numbers beside the paper's
    "resolve_profile": "propgrad.profiles",
    "Results": "propgrad.record",
    "beside_paper": "propgrad.tables",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, __dir__ = lazy_exports("propgrad", globals(), _EXPORTS)
