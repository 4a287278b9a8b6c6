"""Procedural toy worlds with explicit, continuous semantic properties.

A toy world renders images from a small set of parameters. Some parameters
carry the label (an animal's shape), others are the semantic properties under
study (fur tone, background brightness), and the rest are nuisance variation
(pose, size, texture noise). Because every image is a pure function of its
parameters, an intervention ``do(X := x)`` is exact: re-render the same sample
with one parameter changed and everything else held fixed. That makes the
ground truth known, so a measured property gradient can be checked against a
bias that was planted on purpose.

Every world implements one protocol, :class:`~propgrad.worlds.base.World`
(``classes``, ``properties``, ``sample``, ``render``, ``intervene``,
``split``; each world is an instance of a subclass of it), and
:data:`WORLDS` maps each name to its world object::

    from propgrad.worlds import WORLDS

    world = WORLDS["cats_dogs"]
    params = world.sample(4, seed=0, label="dog")
    images = world.render(params, size=64)  # float32 (4, 64, 64, 3) in [0, 1]
    sweeps = world.intervene(params, "fur_tone", [0.0, 0.5, 1.0])

The protocol, its conventions and the steps to add a fourth world are in
:mod:`propgrad.worlds.base`. Importing this package is cheap: the base module
and each world load on first use. Worlds import numpy and the drawing helpers
only, never model, training or torch code.

Modules
-------
base
    The protocol: :class:`~propgrad.worlds.base.Property`,
    :class:`~propgrad.worlds.base.Split` (the training and test data of
    every world), :class:`~propgrad.worlds.base.World` (the protocol and
    its shared implementation) and the registry.
cats_dogs
    Cartoon cat and dog heads on a background; the label is carried by shape,
    fur tone and background brightness are free properties, and biased training
    splits tie fur tone to the label (as the paper's Cats vs. Dogs splits do).
skin_lesions
    Cartoon dermoscopy images; the ABCD cues carry the label, and colourful
    patches beside the lesion (a property: their opacity) are the planted
    shortcut of the biased split.
portraits
    Cartoon faces, young or not; grey hair, wrinkles and makeup are
    correlated with the label through a latent age.
exact, drawing
    The shared exact-intervention helper and drawing primitives.
"""

from __future__ import annotations

from propgrad._lazy import lazy_exports

_EXPORTS = {
    name: "propgrad.worlds.base"
    for name in (
        "BUILTIN_WORLDS",
        "WORLDS",
        "Property",
        "Split",
        "World",
        "WorldRegistry",
        "unit_properties",
    )
}
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
