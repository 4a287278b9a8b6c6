"""The skin-lesion chapter (``notebooks/skin_lesions.md``, Sec. 4.2 and appendix C)."""
