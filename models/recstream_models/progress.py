"""JSON-lines progress on stdout: the trainer parses every line (models/FORMAT.md)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def emit(event: str, **fields: Any) -> None:
    """Writes one progress line and flushes, so the trainer sees it at once."""
    sys.stdout.write(json.dumps({"event": event, **_clean(fields)}) + "\n")
    sys.stdout.flush()
