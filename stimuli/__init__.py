"""The colour and word definitions (``colours.toml``, ``words.toml``): data files, installed with the package."""
