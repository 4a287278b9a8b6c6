"""The chapter's real data source: Kaggle Cats vs. Dogs and the authors' models (Sec. 4.1, B.3).

:class:`KaggleCatsDogs` has the interface of the toy source
(:class:`~propgrad.chapters.cats_vs_dogs.toy.ToyCatsDogs`), for the paper
profile. Models: the authors' three released ConvMixers. Images: the test
parts of the two biased splits, grouped by animal and fur
(:data:`~propgrad.chapters.cats_vs_dogs.paper.FUR_GROUPS`), read with
:func:`~propgrad.chapters.cats_vs_dogs.kaggle.fur_group`. Fur edits: InstructPix2Pix with
"change the fur color to bright white" for dark animals and "change the fur
color to dark black" for light ones, image guidance 2.8, text guidance 1.05 to
14.7 in steps of 0.15 (the paper edits with MGIE, whose backbone this is).
Background: the designed Gaussian-kernel intervention with as many steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from propgrad.chapters.cats_vs_dogs.kaggle import LabelledImage, cats_dogs_split, fur_group
from propgrad.chapters.cats_vs_dogs.paper import FUR_GROUPS
from propgrad.worlds.cats_dogs import CLASSES, SPLITS

#: Edit instruction by the fur the animal has (appendix B.3).
FUR_PROMPTS = {
    "dark": "change the fur color to bright white",
    "light": "change the fur color to dark black",
}
#: CFG image scale of the fur edits (appendix B.3).
FUR_IMAGE_SCALE = 2.8


def test_accuracy(
    models: dict[str, Any], data_dir: str | Path, fur_labels: str | Path
) -> dict[str, dict[str, float]]:
    """Accuracy (in [0, 1]) of every model on the test part of every split (Table 5's layout).

    Parameters
    ----------
    models : dict
        Split -> classifier trained on it.
    data_dir, fur_labels
        The Kaggle folder and the fur-label CSV (see :mod:`propgrad.chapters.cats_vs_dogs.kaggle`).

    Returns
    -------
    dict
        Model -> test split -> accuracy.
    """
    from propgrad.train import evaluate_accuracy

    test_sets = {t: cats_dogs_split(data_dir, fur_labels, t, "test") for t in SPLITS}
    return {m: {t: evaluate_accuracy(c, test_sets[t]) for t in SPLITS} for m, c in models.items()}


def group_sweeps(
    data_dir: str | Path,
    fur_labels: str | Path,
    n_images: int | None = None,
    *,
    editor: str = "timbrooks/instruct-pix2pix",
    text_scales: Any = None,
    num_inference_steps: int = 20,
    seed: int = 0,
    cluster: Any = None,
    progress: bool = True,
) -> tuple[dict[str, list[Any]], dict[str, list[Any]], dict[str, list[LabelledImage]]]:
    """Fur edits and background sweeps of the first ``n_images`` of every fur group.

    Parameters
    ----------
    data_dir, fur_labels
        The real data (see :mod:`propgrad.chapters.cats_vs_dogs.kaggle`).
    n_images : int, optional
        Images per group (all by default).
    editor : str, optional
        InstructPix2Pix weights: a hub id or a local folder with a saved
        pipeline.
    text_scales : array_like, optional
        Text guidance scales (default: the paper's, 1.05 to 14.7 in steps of
        0.15).
    num_inference_steps, seed
        Settings of every edit.
    cluster : str or dask.distributed.Client, optional
        Where to run the edits (see :func:`propgrad.tasks.run_tasks`).
    progress : bool, optional
        Progress bars on a terminal.

    Returns
    -------
    fur, background : dict
        Group -> list of :class:`~propgrad.sweep.Sweep`.
    items : dict
        Group -> the images used.
    """
    from PIL import Image

    from propgrad.interventions.designed import background_sweep
    from propgrad.interventions.instruct_pix2pix import edit_sweeps, paper_text_scales

    scales = paper_text_scales() if text_scales is None else text_scales
    items = {g: fur_group(data_dir, fur_labels, g)[:n_images] for g in FUR_GROUPS}
    fur = {
        g: edit_sweeps(
            [i.path for i in items[g]],
            FUR_PROMPTS[FUR_GROUPS[g][2]],
            scales,
            image_scale=FUR_IMAGE_SCALE,
            editor=editor,
            num_inference_steps=num_inference_steps,
            seed=seed,
            cluster=cluster,
            progress=progress,
        )
        for g in FUR_GROUPS
    }
    background = {}
    for g, group_items in items.items():
        background[g] = []
        for item in group_items:
            with Image.open(item.path) as image:
                background[g].append(background_sweep(image.convert("RGB"), n_steps=len(scales)))
    return fur, background, items


def flip_task_pool(
    fur: dict[str, list[Any]], items: dict[str, list[LabelledImage]], n_per_class: int
) -> tuple[list[Any], Any]:
    """Sweeps and class labels for the flip-prediction task from the groups' fur edits.

    Half of each class is dark and half light: the first ``n_per_class // 2``
    edited images of every group.

    Returns
    -------
    sweeps : list of Sweep
    labels : ndarray of int
    """
    import numpy as np

    half = n_per_class // 2
    sweeps = [s for g in FUR_GROUPS for s in fur[g][:half]]
    labels = np.array([i.label for g in FUR_GROUPS for i in items[g][:half]])
    return sweeps, labels


class KaggleCatsDogs:
    """The real data as the chapter's data source (the paper profile).

    Parameters
    ----------
    data_dir : str or Path
        The Kaggle folder (holding ``train/``).
    fur_labels : str or Path
        The CSV of fur labels (see :mod:`propgrad.chapters.cats_vs_dogs.kaggle`).
    editor : str, optional
        InstructPix2Pix weights: a hub id or a local folder.
    text_scales : array_like, optional
        Text guidance scales of the fur edits (default: the paper's).
    num_inference_steps, seed
        Settings of every edit.
    cluster : str or dask.distributed.Client, optional
        Where to run the edits.
    probing_dir : str or Path, optional
        Probing images for concept discovery (the paper: ImageNet's validation
        images), any image files in the folder.
    concept_words : str or Path, optional
        A text file with one word per line for naming concepts (the paper:
        the 20K most common Google words).
    clip_weights : str or Path, optional
        Local open_clip weights for naming concepts (the paper: CLIP).
    clip_model : str, optional
        Their architecture: an open_clip name or a JSON config file.
    """

    kind = "real"
    description = "real images, InstructPix2Pix"

    def __init__(
        self,
        data_dir: str | Path,
        fur_labels: str | Path,
        *,
        editor: str = "timbrooks/instruct-pix2pix",
        text_scales: Any = None,
        num_inference_steps: int = 20,
        seed: int = 0,
        cluster: Any = None,
        probing_dir: str | Path | None = None,
        concept_words: str | Path | None = None,
        clip_weights: str | Path | None = None,
        clip_model: str = "ViT-B-32",
    ) -> None:
        self.data_dir, self.fur_labels = Path(data_dir), Path(fur_labels)
        self.probing_dir = None if probing_dir is None else Path(probing_dir)
        self.concept_words = None if concept_words is None else Path(concept_words)
        self.clip = {"weights": clip_weights, "model": clip_model}
        self.edit = dict(
            editor=editor,
            text_scales=text_scales,
            num_inference_steps=num_inference_steps,
            seed=seed,
            cluster=cluster,
        )
        self._groups: dict[int | None, tuple] = {}

    def models(self, *, cluster: Any = None) -> dict[str, Any]:
        """The authors' three models: split -> classifier."""
        from propgrad.authors import load_cvd_convmixer

        return {split: load_cvd_convmixer(split) for split in SPLITS}

    def accuracy(self, models: dict[str, Any]) -> dict[str, dict[str, float]]:
        """Test accuracy of every model on every real test split (Table 5's layout)."""
        return test_accuracy(models, self.data_dir, self.fur_labels)

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split, class and part (Table 4's layout)."""
        out = {}
        for split in SPLITS:
            parts = {p: cats_dogs_split(self.data_dir, self.fur_labels, split, p)
                     for p in ("train", "test")}  # fmt: skip
            for label, name in enumerate(CLASSES):
                out[f"{split} / {name}"] = {
                    "Training": sum(i.label == label for i in parts["train"]),
                    "Test": sum(i.label == label for i in parts["test"]),
                }
        return out

    def examples(self, n_per_class: int = 4) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """The first training images of each class per split, and their class names."""
        import numpy as np
        from PIL import Image

        images, names = {}, {}
        for split in SPLITS:
            items = cats_dogs_split(self.data_dir, self.fur_labels, split, "train")
            picks = [i for c in (0, 1) for i in [x for x in items if x.label == c][:n_per_class]]
            images[split] = np.stack(
                [np.asarray(Image.open(i.path).convert("RGB").resize((128, 128))) for i in picks]
            )
            names[split] = [CLASSES[i.label] for i in picks]
        return images, names

    def _edits(self, n_images: int | None) -> tuple:
        if n_images not in self._groups:
            self._groups[n_images] = group_sweeps(
                self.data_dir, self.fur_labels, n_images, **self.edit
            )
        return self._groups[n_images]

    def group_sweeps(
        self, n_images: int, n_steps: int | None = None
    ) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
        """Fur edits and background sweeps of the first ``n_images`` of every group.

        ``n_steps`` is ignored: the editor's text scales set the length.
        """
        fur, background, _ = self._edits(n_images)
        return fur, background

    def flip_pool(
        self, n_per_class: int, n_steps: int | None = None, *, seed: int = 0
    ) -> tuple[list[Any], Any]:
        """The flip task's sweeps: the first fur edits of each group (half of each class dark)."""
        fur, _, items = self._edits(n_per_class // 2)
        return flip_task_pool(fur, items, n_per_class)

    def ci_sample(self, n_per_class: int) -> dict[str, Any]:
        """Test images of the two biased splits for the global tests (Table 9).

        The first ``n_per_class`` cats and dogs of each biased test split,
        their labels and the paper's proxies (fur from the CSV's label, which
        is what split membership means; background from the corner pixels).
        There are no exact values for real photos (``exact`` is ``None``).
        """
        import numpy as np
        from PIL import Image

        from propgrad.chapters.cats_vs_dogs.global_tests import corner_brightness

        items = []
        for split in ("dark-cats", "dark-dogs"):
            part = cats_dogs_split(self.data_dir, self.fur_labels, split, "test")
            items += [i for c in (0, 1) for i in [x for x in part if x.label == c][:n_per_class]]
        images = [Image.open(i.path).convert("RGB") for i in items]
        return {
            "images": images,
            "labels": np.array([i.label for i in items]),
            "proxies": {"Fur Color": np.array([float(i.fur == "dark") for i in items]),
                        "Background Color": corner_brightness(images)},
            "exact": None,
        }  # fmt: skip

    def guidance_grid(
        self, models: dict[str, Any], image_scales: Any, text_scales: Any = None
    ) -> dict[str, Any]:
        """The paper's Fig. 11: p(cat) of every model over both guidance scales.

        The first light-furred dog of the test data is edited with "change the
        fur color to dark black" at every pair of image and text guidance
        scales (:func:`propgrad.interventions.instruct_pix2pix.instruct_pix2pix_grid`,
        cached).

        Returns
        -------
        dict
            ``{"p_cat": {model: (len(image_scales), len(text_scales))},
            "image_scales": [...], "text_scales": [...]}``.
        """
        import numpy as np
        from PIL import Image

        from propgrad.interventions.instruct_pix2pix import (
            instruct_pix2pix_grid,
            paper_text_scales,
        )
        from propgrad.prediction import predict

        text = paper_text_scales() if text_scales is None else text_scales
        text = text if self.edit["text_scales"] is None else self.edit["text_scales"]
        item = fur_group(self.data_dir, self.fur_labels, "light dogs")[0]
        with Image.open(item.path) as image:
            sweeps = instruct_pix2pix_grid(
                image.convert("RGB"), FUR_PROMPTS["light"], text, image_scales,
                editor=self.edit["editor"], num_inference_steps=self.edit["num_inference_steps"],
                seed=self.edit["seed"], progress=False,
            )  # fmt: skip
        p_cat = {
            m: np.stack([predict(model, s, softmax=True)[:, 0] for s in sweeps])
            for m, model in models.items()
        }
        return {"p_cat": p_cat, "image_scales": list(image_scales), "text_scales": list(text)}

    def probing_set(self, n: int, *, size: int = 128) -> dict[str, Any]:
        """The first ``n`` images of ``probing_dir`` (sorted by name) at ``size`` px; no maps."""
        import numpy as np
        from PIL import Image

        if self.probing_dir is None or not self.probing_dir.is_dir():
            raise FileNotFoundError(
                f"concept discovery needs probing images: pass probing_dir=<folder of images> "
                f"(the paper: the ImageNet validation set); got {self.probing_dir}"
            )
        suffixes = {".jpg", ".jpeg", ".png", ".JPEG"}
        files = sorted(f for f in self.probing_dir.iterdir() if f.suffix in suffixes)[:n]
        images = np.stack(
            [np.asarray(Image.open(f).convert("RGB").resize((size, size))) for f in files]
        )
        return {"images": images, "maps": None}

    def name_concepts(self, found: dict[str, Any], probing: dict[str, Any]) -> dict:
        """Name every concept by CLIP text probing over ``concept_words`` (per model)."""
        from propgrad.baselines.concepts import name_by_clip
        from propgrad.models.clip import clip_architecture, load_clip, text_embeddings

        if self.concept_words is None or self.clip["weights"] is None:
            raise FileNotFoundError(
                "naming concepts needs concept_words=<text file, one word per line> (the "
                "paper: the 20K most common Google words) and clip_weights=<open_clip weights>"
            )
        words = [w.strip() for w in self.concept_words.read_text().splitlines() if w.strip()]
        clip = load_clip(pretrained=self.clip["weights"], **clip_architecture(self.clip["model"]))
        text = text_embeddings(clip.model, clip.tokenizer, words)
        return {m: name_by_clip(d, clip, words, text_features=text)
                for m, d in found["discoveries"].items()}  # fmt: skip

    def tcav_sets(self, n: int, *, seed: int = 0) -> dict[str, Any]:
        """Images for TCAV from the biased test splits: cats, dark fur, bright corners, random."""
        import numpy as np
        from PIL import Image

        from propgrad.chapters.cats_vs_dogs.global_tests import corner_brightness

        items = [i for s in ("dark-cats", "dark-dogs")
                 for i in cats_dogs_split(self.data_dir, self.fur_labels, s, "test")]  # fmt: skip
        rng = np.random.default_rng(seed)
        load = [np.asarray(Image.open(i.path).convert("RGB").resize((128, 128))) for i in items]
        images = np.stack(load)
        bright = np.argsort(-corner_brightness(images))
        dark = [k for k, i in enumerate(items) if i.fur == "dark"]
        cats = [k for k, i in enumerate(items) if i.label == 0]
        return {
            "inputs": images[cats[:n]],
            "concepts": {"dark fur": images[dark[:n]], "bright background": images[bright[:n]]},
            "random": images[rng.permutation(len(items))[:n]],
        }
