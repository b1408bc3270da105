"""The anytime curves in the README (docs/anytime.png), drawn from bench/results/accuracy_at_budget.json.

Per family, one line per recorded ladder search (``accuracy_at_budget.py``): the validation accuracy of what the
search would have shipped at each moment against the trial time it was charged, on a log scale so that 1-hour and
8-hour searches share the picture; a dot where a sampled trial first beat every start by more than the noise (the
report's rule). The legend names each search's budget, seed, commit and machine, and its test accuracy after
retraining (mean over retrain seeds), which selection never saw. Nothing is measured here: it draws recorded runs.

    python bench/anytime_plot.py
"""

from __future__ import annotations

import json

from bakeoff.search.durations import parse_duration

from common import RESULTS, ROOT

TARGET = ROOT / "docs" / "anytime.png"
FAMILIES = ("ann", "cnn")


def ladder_attempts(attempts: list[dict]) -> list[dict]:
    """The searches on the ladder that recorded their anytime curves (the earlier ones searched with whole trials)."""
    return [a for a in attempts if a.get("pruner") == "ladder" and all((a.get(f) or {}).get("anytime") for f in FAMILIES)]


def label(attempt: dict, family: str) -> str:
    found = attempt[family]
    test = found.get("test_accuracy_mean")
    tested = f", test {100 * test:.2f} %" if test is not None else ""
    return f"{attempt['timeout']} seed {attempt['seed']} ({attempt['commit']}, {attempt.get('cpu', '?')}){tested}"


def draw(attempts: list[dict]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(FAMILIES), figsize=(11, 4), sharex=True)
    for ax, family in zip(axes, FAMILIES):
        for attempt in attempts:
            steps = attempt[family]["anytime"]
            budget = parse_duration(attempt["timeout"]) / len(FAMILIES)  # each family's equal share, to the line's end
            minutes = [s / 60 for s, _, _ in steps] + [max(budget, steps[-1][0]) / 60]
            values = [100 * v for _, v, _ in steps]
            line, = ax.step(minutes, values + values[-1:], where="post", label=label(attempt, family))
            if beat := attempt[family].get("first_beat_starts"):
                ax.plot(beat["seconds"] / 60, 100 * beat["value"], "o", color=line.get_color())
        ax.set_xscale("log")
        ax.set_title(family.upper())
        ax.set_xlabel("trial time charged (minutes, log scale)")
        ax.set_ylabel("validation accuracy of what would ship (%)")
        ax.set_ylim(bottom=max(ax.get_ylim()[0], 97.5))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return figure


def main() -> None:
    attempts = ladder_attempts(json.loads((RESULTS / "accuracy_at_budget.json").read_text())["attempts"])
    if not attempts:
        raise SystemExit("anytime_plot: no ladder search with anytime curves in bench/results/accuracy_at_budget.json")
    draw(attempts).savefig(TARGET, dpi=110)
    print(f"wrote {TARGET.relative_to(ROOT)} from {len(attempts)} searches")


if __name__ == "__main__":
    main()
