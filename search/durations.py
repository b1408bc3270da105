"""Parse wall-time budgets such as ``90s``, ``45m``, ``8h`` or ``1h30m``."""

from __future__ import annotations

import re

from bakeoff.search.errors import UserError

DEFAULT_TIMEOUT = "10m"
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``text``; a bare number means seconds."""
    cleaned = text.strip().lower()
    try:
        seconds = float(cleaned)
    except ValueError:
        parts = _PART.findall(cleaned)
        if not parts or "".join(n + u for n, u in parts) != cleaned:
            raise UserError(f"duration {text!r} is not understood; write e.g. 90s, 45m, 8h or 1h30m") from None
        seconds = sum(float(n) * _UNIT[u] for n, u in parts)
    if not seconds > 0 or seconds == float("inf"):
        raise UserError(f"duration {text!r} must be positive; write e.g. 90s, 45m, 8h or 1h30m")
    return seconds


def format_duration(seconds: float) -> str:
    """A short human form: ``42s``, ``7m05s``, ``3h12m``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_epochs(epochs: int) -> str:
    """A training's length in words: ``1 epoch``, ``16 epochs``."""
    return f"{epochs} epoch{'' if epochs == 1 else 's'}"
