"""ConvMixer, laid out so its state-dict keys match the authors' checkpoints.

A ConvMixer embeds non-overlapping patches with one strided convolution and
then alternates depthwise (spatial) and pointwise (channel) convolutions, each
followed by GELU and batch norm, with a residual connection around the
depthwise part. The class below is one ``nn.Sequential`` so that parameter
names are plain indices: ``0`` the patch embedding, ``1`` GELU, ``2`` batch
norm, ``3 .. depth + 2`` the mixer blocks (keys such as ``3.0.fn.0.weight``
for the depthwise convolution of the first block), then pooling, flattening
and the linear head (``depth + 5``).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn


class Residual(nn.Module):
    """Add a module's output to its input: ``x + fn(x)``.

    Parameters
    ----------
    fn : nn.Module
        The wrapped module; its output must have the input's shape.
    """

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        """Return ``x + fn(x)``."""
        return self.fn(x) + x


class ConvMixer(nn.Sequential):
    """ConvMixer image classifier (patch embedding + depthwise/pointwise mixing).

    Parameters
    ----------
    dim : int
        Channels of the patch embedding and of every block.
    depth : int
        Number of mixer blocks.
    kernel_size : int
        Size of the depthwise convolution kernels ('same' padding).
    patch_size : int
        Size and stride of the patch-embedding convolution.
    n_classes : int
        Number of outputs of the linear head.
    in_channels : int, optional
        Input channels (3 for RGB).

    Examples
    --------
    >>> import torch
    >>> model = ConvMixer(dim=16, depth=2, kernel_size=3, patch_size=4, n_classes=2)
    >>> model(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 2])
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        kernel_size: int,
        patch_size: int,
        n_classes: int,
        in_channels: int = 3,
    ) -> None:
        for name, value in (
            ("dim", dim),
            ("depth", depth),
            ("kernel_size", kernel_size),
            ("patch_size", patch_size),
            ("n_classes", n_classes),
            ("in_channels", in_channels),
        ):
            if int(value) < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        blocks = [
            nn.Sequential(
                Residual(
                    nn.Sequential(
                        nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                        nn.GELU(),
                        nn.BatchNorm2d(dim),
                    )
                ),
                nn.Conv2d(dim, dim, kernel_size=1),
                nn.GELU(),
                nn.BatchNorm2d(dim),
            )
            for _ in range(depth)
        ]
        super().__init__(
            nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size),
            nn.GELU(),
            nn.BatchNorm2d(dim),
            *blocks,
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
            nn.Linear(dim, n_classes),
        )
        self.paras: dict[str, Any] = {
            "dim": int(dim),
            "depth": int(depth),
            "kernel_size": int(kernel_size),
            "patch_size": int(patch_size),
            "n_classes": int(n_classes),
            "in_channels": int(in_channels),
        }
