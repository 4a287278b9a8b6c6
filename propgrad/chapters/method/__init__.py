"""The method chapter (``notebooks/method.md``): five signals and the shuffle test."""
