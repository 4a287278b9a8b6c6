"""propgrad: local interventional explanations with property gradients.

Data flows one way through the package::

    intervention -> images (Sweep) -> model outputs -> measure / stats -> report

``import propgrad`` is cheap: it never imports torch. Every public name below is
loaded from its module on first access (PEP 562), so the numerical core
(:mod:`propgrad.measure`, :mod:`propgrad.stats`) works without torch installed.
"""

from __future__ import annotations

import importlib
from typing import Any

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
    "predict": "propgrad.predict",
    # reports: one sweep in one call, and many sweeps summarised
    "explain": "propgrad.explain",
    "ExplainReport": "propgrad.explain",
    "summarise_behaviour": "propgrad.summary",
    "BehaviourSummary": "propgrad.summary",
    # profiles and recorded results of notebooks
    "resolve_profile": "propgrad.profiles",
    "Results": "propgrad.record",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'propgrad' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
