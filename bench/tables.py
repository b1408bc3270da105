"""Write bench/README.md's tables from the recorded results, so no figure there is copied by hand.

One section per file in ``bench/results/``: the benchmark's own description (its script's docstring, first
paragraph), the command that recorded it, its machine and date, and its figures. A benchmark with a table of its
own prints that (``short_budgets.table``, ``accuracy_at_budget.summary_table``, ``lr_ranges.table``); the
others are laid out from their JSON as recorded: a list of rows as a table, every other figure as one line of a
"figure | value" table (long per-run lists are left in the JSON). Files whose names say ``withdrawn`` are listed,
not tabulated: their figures are not current.

    python bench/tables.py            # rewrite bench/README.md below its introduction
    python bench/tables.py --check    # exit 1 if bench/README.md is not what the results give
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path
from typing import Any

from common import RESULTS, ROOT

README = ROOT / "bench" / "README.md"
MARKER = "<!-- Everything below is written by bench/tables.py from bench/results/*.json: do not edit by hand. -->"
#: Left in the JSON: the header's facts, per-run records and traces, and configurations (``bakeoff spaces show`` and
#: the studies hold those).
SKIPPED_KEYS = {"benchmark", "when", "machine", "command", "runs", "attempts", "samples", "by_minute", "all_s", "screenshot",
                "best_config", "config", "projection_errors"}
MAX_LIST = 12


def _docstring(script: Path) -> str:
    try:
        text = ast.get_docstring(ast.parse(script.read_text())) or ""
    except (OSError, SyntaxError):
        return ""
    return text.split("\n\n")[0].replace("\n", " ")


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        shown = ", ".join(_value(v) for v in value[:MAX_LIST])
        return f"[{shown}{', …' if len(value) > MAX_LIST else ''}]"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    return str(value).replace("|", "\\|").replace("\n", " ")


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            if key in SKIPPED_KEYS:
                continue
            found += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return found
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [(prefix, f"{len(value)} records (in the JSON)")]
    return [(prefix, value)]


def _rows_table(rows: list[dict]) -> str:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys and k not in SKIPPED_KEYS]
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    lines += ["| " + " | ".join(_value(row.get(k, "")) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def _generic(result: dict) -> str:
    parts = []
    if isinstance(result.get("rows"), list) and result["rows"] and isinstance(result["rows"][0], dict):
        parts.append(_rows_table(result["rows"]))
    figures = _flatten({k: v for k, v in result.items() if k != "rows"})
    if figures:
        parts.append("\n".join(["| figure | value |", "| --- | --- |", *(f"| {k} | {_value(v)} |" for k, v in figures)]))
    return "\n\n".join(parts)


def _own_table(name: str, result: dict) -> str | None:
    """The tables the benchmarks print themselves."""
    if name == "short_budgets":
        import short_budgets

        return short_budgets.table([row for row in result["rows"] if "commit" in row])
    if name == "lr_ranges":
        import lr_ranges

        return lr_ranges.table(result["rows"])
    if name == "warmup":
        import warmup

        return warmup.table(result["rows"])
    if name.startswith("replay"):
        import replay

        return (replay.table(result["results"], result["baseline"], result["targets"]) + "\n\n"
                + replay.goals(result["results"], result["targets"], result["budget_seconds"]) + "\n\n"
                + replay.real_checks(result["results"], result["budget_seconds"], replay.CURVES))
    if name == "storage_load":
        import storage_load

        return storage_load.table(result["rows"])
    if name == "multi_objective":
        import multi_objective

        return multi_objective.table(result["runs"])
    if name == "accuracy_at_budget":
        import accuracy_at_budget

        return accuracy_at_budget.summary_table(result["attempts"])
    return None


def section(path: Path) -> str:
    result = json.loads(path.read_text())
    name = path.stem
    script = ROOT / "bench" / f"{result.get('benchmark', name.split('-')[0])}.py"
    machine = result.get("machine", {})
    flags = f" ({', '.join(machine['speed_flags'])})" if machine.get("speed_flags") else ""
    cores = f", {machine['cores']} cores" if machine.get("cores") else ""
    where = f"{machine.get('cpu', 'an unrecorded CPU')}{flags}{cores}" + (f", {machine['gpu']}" if machine.get("gpu") else "")
    head = [f"### {name}", "", _docstring(script), "", f"Recorded {result.get('when', '?')} on {where}: `{result.get('command', '?')}`", ""]
    if "withdrawn" in name:
        return "\n".join(head + ["Withdrawn: these figures are not current (the file's name says why); kept as recorded.", ""])
    return "\n".join(head + [_own_table(name, result) or _generic(result), ""])


def curves_section() -> str:
    """What the replay's record holds (``record_curves.py``): configurations per family, how deep, on which machine."""
    import record_curves

    header = RESULTS / "curves" / "header.json"
    if not header.exists():
        return ""
    head = ["### curves (the replay's record)", "", _docstring(ROOT / "bench" / "record_curves.py"), "", record_curves.summary_table(), ""]
    return "\n".join(head)


def render() -> str:
    intro = README.read_text().split(MARKER)[0].rstrip() + "\n\n" if README.exists() else "# Benchmarks\n\n"
    return intro + MARKER + "\n\n" + "\n".join([*(section(path) for path in sorted(RESULTS.glob("*.json"))), curves_section()]).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if bench/README.md differs from what the results give")
    args = parser.parse_args()
    text = render()
    if args.check:
        sys.exit(0 if README.exists() and README.read_text() == text else 1)
    README.write_text(text)
    print(f"wrote {README.relative_to(ROOT)} ({len(text.splitlines())} lines)")


if __name__ == "__main__":
    main()
