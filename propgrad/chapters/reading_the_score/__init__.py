"""The "Reading the score" chapter (``notebooks/reading_the_score.md``; beyond the paper).

Four questions the paper leaves open, each answered with a measurement on the
book's own material (the authors' sweep and models, and the toy worlds'
models, which this chapter reuses from their chapters without training):

``steps``
    E[|∇X|] per step, per unit of the property and in total, at several step
    counts of the same exact sweep.
``axis``
    A measured property axis for a generative sweep (validated on exact toy
    sweeps, applied to the authors' InstructPix2Pix sweep).
``nulls``
    What the shuffle test's significance means: rejection rates under
    several nulls, control sweeps, multiple testing.
``contest``
    A fair flip contest: the score against baselines built from the same
    forward passes, thresholds chosen on held-out draws, a paired test.
``claims``
    The sentences the page states about its results, checked.
"""
