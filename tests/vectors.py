"""Where the shared RFC test vectors live, and how tests load them.

The repository is cloned next to ``shared/`` (``/work/main`` and ``/work/shared``; in CI
``<clone>/../shared``); ``KINKO_VECTORS_DIR`` overrides the location.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV_VAR = "KINKO_VECTORS_DIR"


def vectors_dir() -> Path:
    """The vectors directory; raises (never skips) when it is missing, so CI cannot go green."""
    configured = os.environ.get(ENV_VAR)
    path = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
    )
    if not path.is_dir():
        raise FileNotFoundError(
            f"RFC test vectors not found at {path}; clone the shared folder next to the "
            f"repository or set {ENV_VAR}"
        )
    return path


def load_vectors(name: str) -> dict[str, Any]:
    """The parsed JSON file ``name`` (e.g. "rfc4226.json") from the vectors directory."""
    data: dict[str, Any] = json.loads((vectors_dir() / name).read_text(encoding="utf-8"))
    return data
