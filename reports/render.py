"""Render the report context through the Jinja template into one self-contained HTML file."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import jinja2

from bakeoff.search.stats import format_p, mean_pm

TEMPLATE = "report.html.j2"


def environment() -> jinja2.Environment:
    """Autoescaping on: study names, parameters and attributes come from storage and are untrusted."""
    templates = files("bakeoff.templates")
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: templates.joinpath(name).read_text(encoding="utf-8")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, digits=2: "—" if v is None else f"{100 * v:.{digits}f} %"
    env.filters["pm"] = _pm
    env.filters["p"] = format_p
    env.filters["num"] = lambda v, digits=4: "—" if v is None else f"{v:.{digits}g}" if isinstance(v, float) else f"{v:,}"
    return env


def _pm(spread: dict[str, Any] | None, digits: int = 2, scale: float = 100.0, unit: str = " %") -> str:
    """A spread over seeds as "mean ± std", or "mean (one seed, no spread)": one seed is no spread of 0."""
    if spread is None:
        return "—"
    return mean_pm(spread, lambda v: f"{scale * v:.{digits}f}{unit}")


def render(context: dict[str, Any]) -> str:
    return environment().get_template(TEMPLATE).render(**context)
