"""The CLIP chapter (``notebooks/clip_orientation.md``, Sec. 4.4 and appendix E)."""
