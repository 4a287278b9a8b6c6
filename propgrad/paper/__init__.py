"""Numbers the paper (and the authors' released files) report, one module per chapter.

These are *their* numbers, shown beside ours in the book and never presented
as results of this package. Each table is a nested dict row -> column ->
number with the paper's own row and column labels (two-level labels joined
with " / ", as in :func:`propgrad.tables.table_record`), so
:func:`propgrad.tables.beside_paper` can lay a chapter's table next to it
cell by cell.

Modules
-------
cats_vs_dogs
    Sec. 4.1 and appendix B: Tables 1, 2 (top), 4, 5, 6, 7, and what the
    authors' tutorial reports for their InstructPix2Pix sweep.
"""
