"""Helpers with no knowledge of models or data, shared by the layers above (see docs/architecture.md).

- :mod:`.atomic`: files and folders that appear whole or not at all (write to a temporary name, then rename).
- :mod:`.splits`: seeded train / test splits by subject or by row, and stratified subsamples.

Nothing here imports another part of ``normwear_hf``: any module may use them.
"""
