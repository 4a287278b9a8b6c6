"""The paper's numbers of the CLIP chapter (Sec. 4.4, appendix E) with the paper's labels.

Penzel & Denzler (WACV 2026) score CLIP ViT-B/32 zero-shot cosine similarities
while an object turns: three toy figures filmed on a turntable (the paper's
"real-life interventions") and a 3D frog model rendered at one image per
degree about three axes ("virtual interventions"). Each class is described by
ten texts (Table 13); the scored output is the similarity of an image to a
class averaged over its ten texts.

Table 14 has the turntable recordings as rows ("Interv. Data") and the class
texts as columns; Table 15 has the three rotation axes of the frog as rows and
the frog texts as its one column. The paper states that every score in both
tables is significant under its shuffle test (Algorithm 1, p < 0.01).
"""

from __future__ import annotations

#: The paper's objects: the three turntable toys (Table 14's rows and columns).
TURNTABLE_OBJECTS = ("Elephant", "Giraffe", "Stegosaurus")

#: The object rendered about three axes (Table 15).
ROTATED_OBJECT = "Frog"

#: Table 15's row labels by rotation axis.
AXIS_ROWS = {"x": "x-axis", "y": "y-axis", "z": "z-axis"}

#: Table 15's one column.
TABLE15_COLUMN = "Frog Texts"

TABLE13: dict[str, tuple[str, ...]] = {
    "Toy Elephant": (
        "toy elephant",
        "elephant",
        "african elephant",
        "picture of an elephant",
        "gray elephant",
        "standing elephant",
        "elephant model",
        "small elephant",
        "indian elephant",
        "elephant tusk",
    ),
    "Toy Giraffe": (
        "toy giraffe",
        "giraffe",
        "african giraffe",
        "picture of a giraffe",
        "spotted giraffe",
        "standing giraffe",
        "giraffe model",
        "small giraffe",
        "tall giraffe",
        "giraffe bull",
    ),
    "Toy Stegosaurus": (
        "toy stegosaurus",
        "stegosaurus",
        "dinosaur",
        "picture of a stegosaurus",
        "toy dinosaur",
        "standing stegosaurus",
        "stegosaurus model",
        "small stegosaurus",
        "green stegosaurus",
        "stegosaurus plates",
    ),
    "3D Frog Model": (
        "frog model",
        "toy frog",
        "frog",
        "frog rendering",
        "picture of a frog",
        "3d frog model",
        "green frog",
        "photo of a large frog",
        "sitting frog",
        "still frog",
    ),
}
"""Table 13: the ten text descriptors per object (the paper's row labels)."""

#: Table 13's row label of each object.
TABLE13_ROWS = {
    "Elephant": "Toy Elephant",
    "Giraffe": "Toy Giraffe",
    "Stegosaurus": "Toy Stegosaurus",
    "Frog": "3D Frog Model",
}

TABLE14: dict[str, dict[str, float]] = {
    "Elephant": {"Elephant": 0.00141, "Giraffe": 0.00141, "Stegosaurus": 0.00178},
    "Giraffe": {"Elephant": 0.00096, "Giraffe": 0.00086, "Stegosaurus": 0.00118},
    "Stegosaurus": {"Elephant": 0.00157, "Giraffe": 0.00142, "Stegosaurus": 0.00140},
}
"""Table 14: E[|∇X|] of the mean cosine similarity (over each class's ten
texts) along the turntable recordings; rows: the recorded toy, columns: the
class texts. All significant (p < 0.01) according to the paper."""

TABLE15: dict[str, dict[str, float]] = {
    "x-axis": {TABLE15_COLUMN: 0.00161},
    "y-axis": {TABLE15_COLUMN: 0.00156},
    "z-axis": {TABLE15_COLUMN: 0.00095},
}
"""Table 15: E[|∇X|] of the mean similarity to the frog texts for the rendered
frog turned about each axis, one image per degree. All significant
(p < 0.01) according to the paper."""

__all__ = [
    "AXIS_ROWS",
    "ROTATED_OBJECT",
    "TABLE13",
    "TABLE13_ROWS",
    "TABLE14",
    "TABLE15",
    "TABLE15_COLUMN",
    "TURNTABLE_OBJECTS",
]
