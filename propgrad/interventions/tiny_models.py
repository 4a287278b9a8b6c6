"""Tiny random-weight models for offline use (re-exported from where they live).

The tiny InstructPix2Pix builder lives in
:mod:`propgrad.interventions.instruct_pix2pix.tiny`; this module keeps the
old import path ``propgrad.interventions.tiny_models`` working.
"""

from propgrad.interventions.instruct_pix2pix.tiny import (
    _char_clip_tokenizer,  # noqa: F401  (used by benchmarks/bench_ip2p.py before the move)
    tiny_instruct_pix2pix,
)

__all__ = ["tiny_instruct_pix2pix"]
