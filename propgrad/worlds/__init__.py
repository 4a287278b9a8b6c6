"""Procedural toy worlds with explicit, continuous semantic properties.

A toy world renders images from a small set of parameters. Some parameters
carry the label (an animal's shape), others are the semantic properties under
study (fur tone, background brightness), and the rest are nuisance variation
(pose, size, texture noise). Because every image is a pure function of its
parameters, an intervention ``do(X := x)`` is exact: re-render the same sample
with one parameter changed and everything else held fixed. That makes the
ground truth known, so a measured property gradient can be checked against a
bias that was planted on purpose.

Modules
-------
cats_dogs
    Cartoon cat and dog heads on a background; the label is carried by shape,
    fur tone and background brightness are free properties, and biased training
    splits tie fur tone to the label (as the paper's Cats vs. Dogs splits do).
"""
