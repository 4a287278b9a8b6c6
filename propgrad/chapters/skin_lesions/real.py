"""The chapter's real data source: ISIC images and local ImageNet weights (the paper profile).

:class:`IsicLesions` has the interface of the toy source
(:class:`~propgrad.chapters.skin_lesions.toy.ToyLesions`). Images: an ISIC
folder in the layout of :mod:`propgrad.chapters.skin_lesions.isic`, sampled
into the paper's two splits with patch images kept apart for the
interventions. Sweeps: the segmented patches of a reserved image
alpha-blended into a test melanoma
(:func:`propgrad.interventions.designed.alpha_blend_sweep`). Weights: ImageNet
weights from local files (:func:`propgrad.pretrain.find_imagenet_weights`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propgrad.chapters.skin_lesions.isic import (
    ISIC_SPLITS,
    IsicImage,
    IsicSplit,
    isic_split,
    largest_split_sizes,
    list_isic,
    load_isic_image,
    load_isic_images,
    load_isic_patch,
)
from propgrad.chapters.skin_lesions.report import part_counts


class IsicLesions:
    """ISIC images as the chapter's data source (the paper profile).

    Parameters
    ----------
    root : str or Path
        The ISIC folder (``metadata.csv``, ``images/``, ``patch_masks/``).
    n_train_per_class, n_test_per_class : int, optional
        Images per class in the training and test parts; ``None`` takes the
        largest balanced sizes the folder allows with a fifth of them for
        testing (:func:`~propgrad.chapters.skin_lesions.isic.largest_split_sizes`;
        the paper does not state its sizes).
    n_reserved : int, optional
        Patch images kept apart for the interventions.
    seed : int, optional
        Seed of the sampling.
    image_size : int, optional
        Size of the intervened images (the models resize anyway).
    imagenet_weights : str, Path or mapping, optional
        Where the ImageNet weights lie (see :meth:`backbones`).

    Raises
    ------
    FileNotFoundError
        Without a folder, or for a folder that lacks what the layout needs.
    """

    kind = "isic"
    description = "ISIC images"

    def __init__(
        self,
        root: str | Path,
        n_train_per_class: int | None = None,
        n_test_per_class: int | None = None,
        *,
        n_reserved: int = 50,
        seed: int = 0,
        image_size: int = 224,
        imagenet_weights: str | Path | Mapping[str, Any] | None = None,
    ) -> None:
        if root is None:
            raise FileNotFoundError(
                "the paper profile reads ISIC images: pass data_dir=<folder with metadata.csv, "
                "images/ and patch_masks/> (layout: see propgrad.chapters.skin_lesions.isic)"
            )
        self.root = Path(root)
        self.records = list_isic(self.root)
        if n_train_per_class is None or n_test_per_class is None:
            n_train, n_test = largest_split_sizes(self.records, n_reserved=n_reserved, seed=seed)
            n_train_per_class = n_train if n_train_per_class is None else n_train_per_class
            n_test_per_class = n_test if n_test_per_class is None else n_test_per_class
        self.n_train_per_class, self.n_test_per_class = (
            int(n_train_per_class),
            int(n_test_per_class),
        )
        self.n_reserved, self.seed, self.size = int(n_reserved), int(seed), int(image_size)
        self.imagenet_weights = imagenet_weights
        self._splits: dict[str, IsicSplit] = {}

    @property
    def config(self) -> dict[str, Any]:
        """JSON description that rebuilds this source (:func:`~.models.lesion_source`)."""
        return {
            "kind": self.kind,
            "root": str(self.root.resolve()),
            "n_train_per_class": self.n_train_per_class,
            "n_test_per_class": self.n_test_per_class,
            "n_reserved": self.n_reserved,
            "seed": self.seed,
            "image_size": self.size,
        }

    def split(self, name: str) -> IsicSplit:
        """The sampled :class:`~propgrad.chapters.skin_lesions.isic.IsicSplit` (cached)."""
        if name not in ISIC_SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {ISIC_SPLITS}")
        if name not in self._splits:
            self._splits[name] = isic_split(
                self.records,
                name,
                self.n_train_per_class,
                self.n_test_per_class,
                n_reserved=self.n_reserved,
                seed=self.seed,
            )
        return self._splits[name]

    def train_set(self, split: str) -> list[IsicImage]:
        """Training records (path and label) of a split; the trainer reads them."""
        return self.split(split).train

    def train_key(self, split: str) -> str:
        """``"content"``: the trainer keys a run by the image paths and labels."""
        return "content"

    def test_sets(self) -> dict[str, list[IsicImage]]:
        """Test split -> records."""
        return {s: self.split(s).test for s in ISIC_SPLITS}

    def _melanomas(self) -> list[IsicImage]:
        # the same melanomas in both splits' test parts (see the isic module)
        test = self.split("unbiased").test
        return sorted((r for r in test if r.label == 1), key=lambda r: r.image_id)

    def n_test_melanomas(self) -> int:
        """Number of melanomas in the test part."""
        return len(self._melanomas())

    def melanoma_images(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """Test melanomas loaded at :attr:`size`, uint8 (n, H, W, 3)."""
        records = self._melanomas()
        chosen = records if indices is None else [records[int(i)] for i in indices]
        return load_isic_images(chosen, self.size)

    def n_patches(self) -> int:
        """Number of reserved patch images."""
        return len(self.split("unbiased").reserved)

    def patch_sweep(self, image: int, patch: int, n_steps: int, seed: int = 0) -> Any:
        """Blend the segmented patches of reserved image ``patch`` into melanoma ``image``.

        Both are resized to :attr:`size`; the patch pixels are blended in
        where the patch image's mask says, alpha from 0 to 1 in ``n_steps``
        equal steps (:func:`propgrad.interventions.designed.alpha_blend_sweep`).
        ``seed`` is not used (the patch stays where the reserved image has it).
        """
        from propgrad.interventions.designed import alpha_blend_sweep

        melanoma = self._melanomas()[int(image)]
        source = self.split("unbiased").reserved[int(patch)]
        overlay, mask = load_isic_patch(source, self.size)
        sweep = alpha_blend_sweep(
            load_isic_image(melanoma, self.size), overlay, mask, np.linspace(0.0, 1.0, n_steps)
        )
        sweep.grid_name = "patch opacity (alpha)"
        sweep.metadata.update(
            {
                "image_index": int(image),
                "patch_index": int(patch),
                "image_id": melanoma.image_id,
                "patch_id": source.image_id,
            }
        )
        return sweep

    def examples(self, n_per_class: int = 4) -> tuple[dict[str, list], dict[str, list[str]]]:
        """The first training images of each class per split (nevi with patches first).

        Returns
        -------
        images, titles : dict
            Split -> images (at :attr:`size`); split -> their titles.
        """
        images, titles = {}, {}
        for split in ISIC_SPLITS:
            train = self.split(split).train
            nevi = sorted((r for r in train if r.label == 0), key=lambda r: not r.colorful_patch)
            chosen = nevi[:n_per_class] + [r for r in train if r.label == 1][:n_per_class]
            images[split] = [load_isic_image(r, self.size) for r in chosen]
            titles[split] = [r.diagnosis + (" + patch" if r.colorful_patch else "") for r in chosen]
        return images, titles

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and part: nevi, nevi with patches, melanomas."""
        out = {}
        for name in ISIC_SPLITS:
            s = self.split(name)
            for part in ("train", "test"):
                out[f"{name} / {part}"] = part_counts(s.labels(part), s.has_patch(part))
        return out

    def backbones(
        self,
        architectures: Mapping[str, Mapping[str, Any]],
        image_size: int | None = None,
        **options: Any,
    ) -> dict[str, str]:
        """The ImageNet weights file of every architecture, from :attr:`imagenet_weights`.

        Parameters
        ----------
        architectures : mapping
            From :func:`~propgrad.chapters.skin_lesions.models.architecture_table`.
        image_size : int, optional
            Not used (the weights do not depend on it).
        **options
            Not used (``cluster``, ``num_threads``, ``progress`` of the toy
            source's pre-training).

        Returns
        -------
        dict
            Label -> weights file.

        Raises
        ------
        FileNotFoundError
            Naming every missing file (:func:`propgrad.pretrain.find_imagenet_weights`).
        """
        from propgrad.pretrain import find_imagenet_weights

        return find_imagenet_weights(architectures, self.imagenet_weights)


__all__ = ["IsicLesions"]
