"""The Cats-vs-Dogs chapter (``notebooks/cats_vs_dogs.md``, Sec. 4.1 and appendix B)."""
