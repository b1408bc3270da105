"""A family's search space: an ordered list of parameters that samples one configuration.

Order matters: a parameter may depend (``when``/``repeat``) only on parameters before it, so a single
pass samples a valid configuration and Optuna sees exactly the parameters that are active.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterator

from bakeoff.spaces.errors import SpaceError
from bakeoff.spaces.params import Choice, Fixed, Float, Int, Param, Suggester, as_list, param_from_config

Config = dict[str, Any]


@dataclass(frozen=True)
class Space:
    family: str
    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        seen: dict[str, Param] = {}
        for param in self.params:
            if param.name in seen:
                raise SpaceError(f"{self.family} space: parameter {param.name!r} appears twice")
            for ref in [*param.when, *([param.repeat] if param.repeat else [])]:
                if ref not in seen:
                    raise SpaceError(
                        f"{self.family} space: {param.name!r} depends on {ref!r}, which must come before it"
                    )
            if param.repeat and not isinstance(seen[param.repeat], (Int, Fixed)):
                raise SpaceError(f"{self.family} space: {param.name!r} repeats by {param.repeat!r}, not an int")
            seen[param.name] = param

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __getitem__(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise SpaceError(f"unknown parameter {name!r} in the {self.family} space; known: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def sample(self, trial: Suggester) -> Config:
        """Draw one configuration; only active parameters are suggested to the trial."""
        config: Config = {}
        for param in self.params:
            if not _active(param, config):
                continue
            if param.repeat:
                count = int(config[param.repeat])
                config[param.name] = [param.suggest(trial, f"{param.name}_{i + 1}") for i in range(count)]
            else:
                config[param.name] = param.suggest(trial, param.name)
        return config

    def to_trial_params(self, config: Config) -> dict[str, Any]:
        """The flat Optuna parameters that ``sample`` would suggest for ``config`` (for enqueueing)."""
        flat: dict[str, Any] = {}
        for param in self.params:
            if param.name not in config or isinstance(param, Fixed):
                continue
            if param.repeat:
                flat.update({f"{param.name}_{i + 1}": v for i, v in enumerate(config[param.name])})
            else:
                flat[param.name] = config[param.name]
        return flat

    def problems(self, config: Config) -> list[str]:
        """Why ``config`` is not a point of this space (empty when it is)."""
        found: list[str] = []
        active: Config = {}
        for param in self.params:
            if not _active(param, active):
                if param.name in config:
                    found.append(f"{param.name} is set but inactive")
                continue
            if param.name not in config:
                found.append(f"{param.name} is missing")
                continue
            value = config[param.name]
            values = value if param.repeat else [value]
            if param.repeat and (not isinstance(value, list) or len(value) != active[param.repeat]):
                found.append(f"{param.name} needs {active[param.repeat]} values")
            elif not all(param.contains(v) for v in values):
                found.append(f"{param.name}={value!r} is outside {param.describe()}")
            active[param.name] = value
        found += [f"{name} is not a parameter" for name in config if name not in self.names]
        return found

    def get_config(self) -> dict[str, Any]:
        return {"family": self.family, "params": [p.get_config() for p in self.params]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Space:
        return cls(config["family"], tuple(param_from_config(p) for p in config["params"]))

    def with_overrides(self, overrides: dict[str, Any]) -> Space:
        """Apply a user's ``[family]`` table: narrow ranges, replace choices, or pin values."""
        params = {p.name: p for p in self.params}
        for name, override in overrides.items():
            params[name] = _override(self[name], override, self.family)
        return Space(self.family, tuple(params[p.name] for p in self.params))

    def describe(self) -> str:
        width = max(len(p.name) for p in self.params) + 2
        lines = [f"{self.family} search space ({len(self.params)} parameters)"]
        for p in self.params:
            extra = [f"one per {p.repeat}"] if p.repeat else []
            extra += [f"when {k} in {{{', '.join(map(str, v))}}}" for k, v in p.when.items()]
            lines.append(f"  {p.name:<{width}}{p.describe()}" + (f"   ({'; '.join(extra)})" if extra else ""))
        return "\n".join(lines)


def _active(param: Param, config: Config) -> bool:
    return all(
        key in config and any(config[key] == v and type(config[key]) is type(v) for v in values)
        for key, values in param.when.items()
    )


_RANGE_KEYS = {Int: {"low", "high", "log", "step"}, Float: {"low", "high", "log"}}


def _override(param: Param, override: Any, family: str) -> Param:
    where = f"[{family}] {param.name}"
    common = {"when": param.when, "repeat": param.repeat}
    if isinstance(override, dict):
        allowed = _RANGE_KEYS.get(type(param), {"values"} if isinstance(param, Choice) else set())
        unknown = set(override) - allowed
        if unknown:
            raise SpaceError(f"{where}: unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(allowed))}")
        if isinstance(param, Choice):
            return Choice(param.name, values=tuple(as_list(override["values"])), **common)
        return replace(param, **override)
    if isinstance(override, list):
        if not isinstance(param, Choice):
            raise SpaceError(f"{where}: a list of choices needs a choice parameter; use {{low = .., high = ..}}")
        return Choice(param.name, values=tuple(override), **common)
    if isinstance(override, (bool, int, float, str)):
        return Fixed(param.name, value=override, **common)
    raise SpaceError(f"{where}: expected a table, a list of choices or a single value")
