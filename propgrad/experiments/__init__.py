"""The paper's recipes on real data, one module per chapter (the ``paper`` profile).

A recipe says which real images an experiment uses and how it intervenes on
them (prompts, guidance scales, designed operations), as the paper's
appendices describe; the chapters call it at the ``paper`` profile, and a
researcher can call it from Python with their own copy of the data. Heavy
steps (image edits) are independent tasks submitted through
:func:`propgrad.tasks.run_tasks`, so they cache, resume and run on a cluster.

Modules
-------
cats_vs_dogs
    Appendix B: the four fur groups of the biased test splits, InstructPix2Pix
    fur edits and the designed background intervention.
"""
