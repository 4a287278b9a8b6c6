"""Interventions: ways to change one property of one input gradually.

Each submodule produces a :class:`propgrad.sweep.Sweep` (ordered images plus
the grid values that produced them). Import the submodule you need, e.g.
:mod:`propgrad.interventions.instruct_pix2pix` for editing-model sweeps over
the classifier-free-guidance text scale; this package itself imports nothing
heavy (no torch).
"""
