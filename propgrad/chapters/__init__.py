"""One folder per chapter of the book: all that only that chapter needs.

Each ``propgrad.chapters.<notebook name>`` holds the chapter's claims (the
sentences its page states about its results, :mod:`propgrad.claims`), and for
the paper's experiments its recipe for the demo and paper profiles, its
real-data reader, the paper's numbers and its report functions. The core of
``propgrad`` never imports a chapter; a chapter imports the core.
"""
