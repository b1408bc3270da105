"""Search-space parameters as small declarative types.

Each parameter validates itself at construction and round-trips through plain dicts (``get_config`` /
``param_from_config``), so spaces can be printed, stored in a study and read back from user files, in the
manner of KerasTuner's ``hp_types``. Nothing here imports Optuna or TensorFlow: sampling goes through the
tiny ``Suggester`` protocol, which an Optuna trial satisfies.
"""

from __future__ import annotations

import math
import re
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Protocol

from bakeoff.spaces.errors import SpaceError

Scalar = bool | int | float | str
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Suggester(Protocol):
    """What a parameter needs from an Optuna trial."""

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


@dataclass(frozen=True)
class Param:
    """A named parameter, optionally active only under conditions, optionally repeated.

    ``when`` maps earlier parameter names to the values under which this one is active (all must hold).
    ``repeat`` names an earlier integer parameter: the value is then a list with that many entries,
    sampled as ``name_1 .. name_k`` (units per layer, filters per block).
    """

    name: str
    _: KW_ONLY
    when: dict[str, tuple[Scalar, ...]] = field(default_factory=dict)
    repeat: str | None = None
    kind: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise SpaceError(f"parameter name {self.name!r} must be lower-case letters, digits and '_'")
        object.__setattr__(self, "when", {k: tuple(as_list(v)) for k, v in dict(self.when).items()})
        for key, values in self.when.items():
            if not values:
                raise SpaceError(f"parameter {self.name!r}: condition on {key!r} lists no values")
        self._check()

    def _check(self) -> None:
        """Validate the type-specific fields."""

    def suggest(self, trial: Suggester, name: str) -> Scalar:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"type": self.kind, "name": self.name}
        config.update(self._fields())
        if self.when:
            config["when"] = {k: list(v) for k, v in self.when.items()}
        if self.repeat:
            config["repeat"] = self.repeat
        return config

    def _fields(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Int(Param):
    low: int = 0
    high: int = 1
    log: bool = False
    step: int = 1
    kind: ClassVar[str] = "int"

    def _check(self) -> None:
        _check_range(self, self.low, self.high, self.log, integer=True)
        if self.step < 1 or (self.log and self.step != 1):
            raise SpaceError(f"parameter {self.name!r}: step must be >= 1, and 1 on a log scale")

    def suggest(self, trial: Suggester, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    def contains(self, value: Any) -> bool:
        return _is_int(value) and self.low <= value <= self.high and (value - self.low) % self.step == 0

    def describe(self) -> str:
        return f"int [{self.low}, {self.high}]" + (" log" if self.log else "") + (
            f" step {self.step}" if self.step != 1 else ""
        )

    def _fields(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "step": self.step}


@dataclass(frozen=True)
class Float(Param):
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    kind: ClassVar[str] = "float"

    def _check(self) -> None:
        _check_range(self, self.low, self.high, self.log, integer=False)

    def suggest(self, trial: Suggester, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def contains(self, value: Any) -> bool:
        return _is_number(value) and self.low <= value <= self.high

    def describe(self) -> str:
        return f"float [{self.low:g}, {self.high:g}]" + (" log" if self.log else "")

    def _fields(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class Choice(Param):
    values: tuple[Scalar, ...] = ()
    kind: ClassVar[str] = "choice"

    def _check(self) -> None:
        object.__setattr__(self, "values", tuple(as_list(self.values)))
        if not self.values:
            raise SpaceError(f"parameter {self.name!r}: choices are empty")
        if any(not isinstance(v, (bool, int, float, str)) for v in self.values):
            raise SpaceError(f"parameter {self.name!r}: choices must be numbers, strings or booleans")
        if len(set(map(repr, self.values))) != len(self.values):
            raise SpaceError(f"parameter {self.name!r}: choices repeat a value")

    def suggest(self, trial: Suggester, name: str) -> Scalar:
        return trial.suggest_categorical(name, list(self.values))

    def contains(self, value: Any) -> bool:
        if isinstance(value, (bool, str)):
            return any(type(v) is type(value) and v == value for v in self.values)
        return _is_number(value) and any(_is_number(v) and v == value for v in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(map(_show, self.values))

    def _fields(self) -> dict[str, Any]:
        return {"values": list(self.values)}


@dataclass(frozen=True)
class Bool(Choice):
    values: tuple[Scalar, ...] = (False, True)
    kind: ClassVar[str] = "bool"

    def _fields(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Fixed(Param):
    """A value the user pinned: part of every configuration, never sampled."""

    value: Scalar = 0
    kind: ClassVar[str] = "fixed"

    def _check(self) -> None:
        if not isinstance(self.value, (bool, int, float, str)):
            raise SpaceError(f"parameter {self.name!r}: a fixed value must be a number, string or boolean")

    def suggest(self, trial: Suggester, name: str) -> Scalar:
        return self.value

    def contains(self, value: Any) -> bool:
        return value == self.value and type(value) is type(self.value)

    def describe(self) -> str:
        return f"fixed {_show(self.value)}"

    def _fields(self) -> dict[str, Any]:
        return {"value": self.value}


TYPES: dict[str, type[Param]] = {t.kind: t for t in (Int, Float, Choice, Bool, Fixed)}


def param_from_config(config: dict[str, Any]) -> Param:
    """Rebuild a parameter from ``get_config`` output; unknown types or fields are a ``SpaceError``."""
    config = dict(config)
    kind = config.pop("type", None)
    if kind not in TYPES:
        raise SpaceError(f"unknown parameter type {kind!r}; expected one of {', '.join(TYPES)}")
    try:
        return TYPES[kind](**config)
    except TypeError as exc:
        raise SpaceError(f"parameter {config.get('name')!r}: {exc}") from None


def _check_range(param: Param, low: Any, high: Any, log: bool, *, integer: bool) -> None:
    check = _is_int if integer else _is_number
    what = "whole numbers" if integer else "numbers"
    if not (check(low) and check(high)):
        raise SpaceError(f"parameter {param.name!r}: low and high must be {what}, got {low!r} and {high!r}")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SpaceError(f"parameter {param.name!r}: low and high must be finite")
    if low > high:
        raise SpaceError(f"parameter {param.name!r}: low {low} is above high {high}")
    if log and low <= 0:
        raise SpaceError(f"parameter {param.name!r}: a log scale needs low > 0, got {low}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _show(value: Scalar) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
