"""The RFC test vectors, kept in the repository beside this module, and how tests load them.

rfc4226.json is RFC 4226 Appendix D (HOTP), rfc6238.json RFC 6238 Appendix B (TOTP with
SHA-1, SHA-256 and SHA-512), rfc6287.json RFC 6287 Appendix C (OCRA); each file names its
source in its ``source`` member. Nothing here reads outside the checkout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent


def load_vectors(name: str) -> dict[str, Any]:
    """The parsed JSON file ``name`` (e.g. "rfc4226.json") from this folder."""
    data: dict[str, Any] = json.loads((VECTORS_DIR / name).read_text(encoding="utf-8"))
    return data
