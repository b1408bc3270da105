"""Environment variables that change one of bakeoff's constants (for benchmarks and operators, without a flag for
each): declared where the constant lives, read through here, and checked together before a search writes anything,
so a bad value is one line and exit 2, never a traceback at import or in the middle of a search."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from bakeoff.search.errors import UserError


@dataclass(frozen=True)
class Number:
    """A number of at least ``least`` (a whole one when ``whole``), ``default`` when unset."""

    name: str
    default: float
    least: float
    whole: bool = True

    def value(self) -> float:
        raw = os.environ.get(self.name)
        if raw is None:
            return self.default
        try:
            number = int(raw) if self.whole else float(raw)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number >= self.least):  # nan and inf fail here too
            kind = "a whole number" if self.whole else "a number"
            raise UserError(f"{self.name}={raw!r} must be {kind} of at least {self.least:g}; unset it for the default {self.default:g}")
        return number


@dataclass(frozen=True)
class Switch:
    """One of a few words, ``None`` when unset (the code's own rule applies)."""

    name: str
    choices: tuple[str, ...]

    def value(self) -> str | None:
        raw = os.environ.get(self.name)
        if raw is not None and raw not in self.choices:
            raise UserError(f"{self.name}={raw!r} must be one of {', '.join(self.choices)}; unset it for the default")
        return raw


def check(*settings: Number | Switch) -> None:
    """Refuse the first setting with a bad value (``UserError``); read each one before anything is written."""
    for setting in settings:
        setting.value()
