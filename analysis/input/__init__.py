"""What the analysis reads: trial files (and other labs' tables through a column mapping), their
sidecars and consistency checks, the codebook, the vocabulary of a session, coder files, and
the analysis plan with its declared design."""
