"""The frozen sentence encoder (offline all-MiniLM-L6-v2 by default).

The code lives in the flat module ``normwear_hf.text_encoder_normwear`` because exported zero-shot folders carry it
for the remote-code pipeline; this module keeps the names where the package has always had them.
"""

from ..text_encoder_normwear import DEFAULT_TEXT_ENCODER, SentenceEncoder, resolve_text_encoder

__all__ = ["DEFAULT_TEXT_ENCODER", "SentenceEncoder", "resolve_text_encoder"]
