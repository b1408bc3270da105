"""Draw figures from plain data (or Optuna studies, through Optuna's own matplotlib plots) as data URIs.

Every function returns a ``data:image/png;base64,…`` string, so the report is one file that renders
offline. Drawing never computes statistics: the numbers come from ``reports.stats`` and ``collect``.
"""

from __future__ import annotations

import base64
import io
import math
import warnings
from typing import Any, Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"ann": "#1f77b4", "cnn": "#d62728"}
DPI = 80


def to_data_uri(figure) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "tight layout not applied" on crowded Optuna plots
        figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def optuna_plot(plot: Callable[..., Any], study, **kwargs) -> str | None:
    """One of ``optuna.visualization.matplotlib``'s plots, or None when the study cannot support it yet."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            axes = plot(study, **kwargs)
    except (ValueError, RuntimeError, ZeroDivisionError, IndexError):
        plt.close("all")
        return None
    first = axes.flat[0] if isinstance(axes, np.ndarray) else axes
    figure = first.figure
    figure.set_size_inches(7, 3.6)
    return to_data_uri(figure)


def intermediate_values(trials: list[dict[str, Any]], family: str) -> str | None:
    """Validation accuracy per epoch of every trial, pruned ones in grey: how the pruner cut the search.

    One LineCollection instead of a line per trial keeps this fast for thousands of trials.
    """
    from matplotlib.collections import LineCollection

    lines = {"COMPLETE": [], "PRUNED": []}
    for trial in trials:
        if trial["state"] in lines and trial["intermediate"]:
            steps = sorted(trial["intermediate"])
            lines[trial["state"]].append(np.column_stack([np.add(steps, 1), [trial["intermediate"][s] for s in steps]]))
    if not any(lines.values()):
        return None
    figure, ax = plt.subplots(figsize=(7, 3.6))
    style = {"PRUNED": ("#999999", 0.35), "COMPLETE": (COLORS[family], 0.6)}
    for state, segments in lines.items():
        if segments:
            ax.add_collection(LineCollection(segments, colors=style[state][0], alpha=style[state][1], linewidths=0.8, label=f"{state.lower()} ({len(segments)})"))
    every = np.concatenate([s for segments in lines.values() for s in segments])
    ax.set_xlim(0.8, every[:, 0].max() + 0.2)
    ax.set_ylim(max(0.0, every[:, 1].min() - 0.02), min(1.0, every[:, 1].max() + 0.02))
    ax.set(xlabel="epoch", ylabel="validation accuracy")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return to_data_uri(figure)


def search_progress(found: dict[str, Any], family: str) -> str:
    """Best selectable validation accuracy against charged minutes, the starts marked, the first beat drawn."""
    figure, ax = plt.subplots(figsize=(7, 3.2))
    steps = found["steps"]
    minutes = [s["seconds"] / 60 for s in steps] + [found["charged"] / 60]
    values = [s["value"] for s in steps] + [steps[-1]["value"]]
    ax.step(minutes, values, where="post", color=COLORS[family], label="best so far (complete trials)")
    for start in found["starts"]:
        ax.plot(start["seconds"] / 60, start["value"], marker="s", color="black", markersize=5)
        ax.annotate(start["label"], (start["seconds"] / 60, start["value"]), fontsize=7, xytext=(4, -10), textcoords="offset points")
    if found["beaten"]:
        ax.axvline(found["beaten"]["seconds"] / 60, color="#2ca02c", linestyle="--", linewidth=1, label="first beat every start")
    low = min([s["value"] for s in steps] + [s["value"] for s in found["starts"]])
    ax.set_ylim(max(0.0, low - 0.01), min(1.0, max(values) + 0.005))
    ax.set(xlabel="charged trial time (minutes)", ylabel="validation accuracy")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return to_data_uri(figure)


def learning_curves(histories: dict[str, list[dict[str, list[float]]]]) -> str:
    """Training loss and accuracy per epoch for every retrained seed, both families on one figure."""
    figure, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.2))
    for family, runs in histories.items():
        for i, history in enumerate(runs):
            label = family.upper() if i == 0 else None
            epochs = np.arange(1, len(history.get("loss", [])) + 1)
            loss_ax.plot(epochs, history.get("loss", []), color=COLORS[family], alpha=0.7, label=label)
            acc_ax.plot(epochs, history.get("accuracy", []), color=COLORS[family], alpha=0.7, label=label)
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Loss")
    acc_ax.set(xlabel="epoch", ylabel="training accuracy", title="Accuracy")
    loss_ax.legend()
    return to_data_uri(figure)


def seed_accuracies(accuracies: dict[str, list[float]]) -> str:
    """Test accuracy of each seed, per family, with the mean marked."""
    figure, ax = plt.subplots(figsize=(5, 2.8))
    for position, (family, values) in enumerate(accuracies.items()):
        ax.scatter([position] * len(values), [100 * v for v in values], color=COLORS[family], zorder=3)
        if values:
            ax.hlines(100 * np.mean(values), position - 0.25, position + 0.25, color="black")
    ax.set_xticks(range(len(accuracies)), [f.upper() for f in accuracies])
    ax.set_xlim(-0.6, len(accuracies) - 0.4)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(axis="y", alpha=0.3)
    return to_data_uri(figure)


def confusion(matrix: np.ndarray, labels: Sequence[str], title: str) -> str:
    figure, ax = plt.subplots(figsize=(4.2, 3.8))
    shown = np.log1p(matrix)
    ax.imshow(shown, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color="white" if shown[i, j] > shown.max() / 2 else "black")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return to_data_uri(figure)


def gallery(images: np.ndarray, labels: Sequence[str], predictions: Sequence[str], title: str) -> str:
    """Misclassified test images with their true and predicted labels."""
    count = len(images)
    cols = min(8, max(count, 1))
    rows = max(1, int(np.ceil(count / cols)))
    figure, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, true, pred in zip(axes.flat, images, labels, predictions):
        ax.imshow(image.squeeze(), cmap="gray_r" if image.shape[-1] == 1 else None)
        ax.set_title(f"{true}→{pred}", fontsize=8, color="#b00")
    figure.suptitle(title, fontsize=9)
    return to_data_uri(figure)


def accuracy_vs_cost(points: dict[str, dict[str, list]], xlabel: str, marked: dict[str, tuple[float, float]] | None = None) -> str:
    """Validation accuracy against a cost (log scale) for every point given, with each family's front and the
    trials its retrained models come from circled."""
    figure, ax = plt.subplots(figsize=(7, 3.6))
    right = max((c for p in points.values() for c in p["cost"]), default=1.0)
    for family, p in points.items():
        ax.scatter(p["cost"], p["accuracy"], s=10, alpha=0.45, color=COLORS[family], label=f"{family.upper()} trials")
        front = sorted(p["front"], key=lambda i: p["cost"][i])
        if front:  # on to the dearest trial of either family: within any larger limit the family's best stays this
            costs, accuracies = [p["cost"][i] for i in front] + [right], [p["accuracy"][i] for i in front]
            ax.step(costs, accuracies + accuracies[-1:], where="post", color=COLORS[family], label=f"{family.upper()} front")
    for family, (cost, accuracy) in (marked or {}).items():
        ax.scatter([cost], [accuracy], s=90, facecolors="none", edgecolors=COLORS[family], linewidths=1.8, label=f"{family.upper()} retrained")
    ax.set_xscale("log")
    # Logit: 0.9, 0.99 and 0.999 are equally far apart, so the trials near the top are told apart and a trial near
    # chance still fits on the same plot.
    every = [a for p in points.values() for a in p["accuracy"]]
    low, high = (min(every), max(every)) if every else (0.5, 0.99)
    ax.set_yscale("logit", nonpositive="clip")
    bottom, top = max(0.9 * low, 0.01), 1 - (1 - high) / 3 if high < 1 else 0.9999
    ax.set_ylim(bottom, top)
    ticks = [t for t in (0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999) if bottom <= t <= top]
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{100 * value:g} %"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set(xlabel=xlabel, ylabel="validation accuracy (logit scale)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return to_data_uri(figure)


def hypervolume_over_time(steps: dict[str, list[dict[str, float]]]) -> str:
    """Each family's front hypervolume against the trial time charged to it."""
    figure, ax = plt.subplots(figsize=(7, 3.0))
    for family, found in steps.items():
        if found:
            ax.step([s["seconds"] / 60 for s in found], [s["hypervolume"] for s in found], where="post", color=COLORS[family], label=family.upper())
    ax.set(xlabel="charged trial time (minutes)", ylabel="hypervolume")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return to_data_uri(figure)


def robustness(summaries: dict[str, dict[str, Any]]) -> str:
    """Test accuracy against strength, one panel per perturbation, mean over seeds with a ± std band."""
    kinds = list(next(iter(summaries.values()))["kinds"])
    figure, axes = plt.subplots(1, len(kinds), figsize=(2.6 * len(kinds), 2.8), sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        for family, summary in summaries.items():
            row = summary["kinds"].get(kind)
            if not row:
                continue
            x = [0, *row["strengths"]]
            mean = 100 * np.array([summary["clean"]["mean"], *row["mean"]])
            ax.plot(x, mean, marker="o", markersize=3, color=COLORS[family], label=family.upper())
            if row["std"] is not None and summary["clean"]["std"] is not None:  # one seed: no band, not a band of 0
                std = 100 * np.array([summary["clean"]["std"], *row["std"]])
                ax.fill_between(x, mean - std, mean + std, color=COLORS[family], alpha=0.2)
        unit = next(iter(summaries.values()))["kinds"][kind]["unit"]
        ax.set(title=kind, xlabel=unit)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=8)
    return to_data_uri(figure)


def reliability(calibrations: dict[str, dict[str, Any]]) -> str:
    """Accuracy against confidence per bin (test predictions of every seed pooled); the diagonal is perfect."""
    figure, ax = plt.subplots(figsize=(4, 3.6))
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1, label="perfect")
    for family, c in calibrations.items():
        used = np.array(c["count"]) > 0
        ax.plot(np.array(c["confidence"])[used], np.array(c["accuracy"])[used], marker="o", markersize=3, color=COLORS[family], label=family.upper())
    ax.set(xlabel="confidence (top probability)", ylabel="accuracy", xlim=(0, 1.01), ylim=(0, 1.01))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return to_data_uri(figure)


def class_difference(difference: Sequence[float], labels: Sequence[str]) -> str:
    """CNN errors less ANN errors per true class (mean over seed pairs): below zero the CNN errs less."""
    figure, ax = plt.subplots(figsize=(5, 2.8))
    values = np.asarray(difference, dtype=float)
    ax.bar(range(len(values)), values, color=[COLORS["cnn"] if v < 0 else COLORS["ann"] for v in values])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(labels)), labels)
    ax.set(xlabel="true class", ylabel="CNN errors − ANN errors")
    ax.grid(axis="y", alpha=0.3)
    return to_data_uri(figure)


def data_efficiency(curves: dict[str, dict[str, Any]]) -> str:
    """Test accuracy against the share of training images (log axis), mean over seeds with ± std bars."""
    figure, ax = plt.subplots(figsize=(5, 3.2))
    for family, curve in curves.items():
        points = curve["points"]
        ax.errorbar([100 * p["fraction"] for p in points], [100 * p["mean"] for p in points], yerr=[math.nan if p["std"] is None else 100 * p["std"] for p in points],
                    marker="o", markersize=4, capsize=3, color=COLORS[family], label=family.upper())
    ax.set_xscale("log")
    ax.set(xlabel="share of the training images (%)", ylabel="test accuracy (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return to_data_uri(figure)
