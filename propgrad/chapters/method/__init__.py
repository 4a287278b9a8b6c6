"""The method chapter (``notebooks/method.md``): five signals and the shuffle test."""

#: The paper profile's inputs (:mod:`propgrad.profiles`): none, the chapter's sweeps
#: are synthetic at every profile, so its notebook has no input check.
PAPER_INPUTS: tuple = ()
