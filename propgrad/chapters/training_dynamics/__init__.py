"""The training-dynamics chapter (``notebooks/training_dynamics.md``, Sec. 4.3, appendix D)."""
