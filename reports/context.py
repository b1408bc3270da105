"""Turn a run (studies + retrained artefacts) into everything the template shows, section by section.

Whatever is missing (a family, retrained models, a finished search) becomes a plain sentence in
``notes`` instead of an error, so a report can be rendered at any moment of a run.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.visualization import matplotlib as optuna_mpl

from bakeoff.reports import figures, stats
from bakeoff.reports.collect import load_retrained, snapshot, study_summary
from bakeoff.search.manifest import read_manifest

ALPHA = 0.05
PARALLEL_PARAMS = 6


def build_context(out: Path, studies: dict[str, optuna.Study], storage_label: str, study_name: str) -> dict[str, Any]:
    manifest = read_manifest(out)
    studies = {family: snapshot(study) for family, study in studies.items()}
    families = {}
    notes = []
    for family in ("ann", "cnn"):
        if family not in studies:
            notes.append(f"No {family.upper()} study exists: only one family was searched.")
            continue
        summary = study_summary(studies[family])
        retrained = load_retrained(out, family)
        families[family] = {"summary": summary, "retrained": retrained, "study": studies[family]}
        if summary["states"].get("RUNNING"):
            notes.append(f"The {family.upper()} study is still running ({summary['states']['RUNNING']} trial(s) under way): figures show a moment of it.")
        if summary["best"] is None:
            notes.append(f"The {family.upper()} study has no complete trial yet.")
        if not retrained:
            notes.append(f"No retrained {family.upper()} models yet: run 'bakeoff retrain' to evaluate on the test split.")
    data = manifest.get("search", {}).get("data") or _data_from_studies(studies)
    labels = (data or {}).get("classes") or [str(i) for i in range(10)]
    return {
        "title": f"bakeoff report: {study_name}",
        "study_name": study_name,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "notes": notes,
        "verdict": _verdict(families),
        "data": data,
        "search": _search_section(families),
        "retrained": _retrained_section(families, labels),
        "cost": _cost_section(families),
        "reproduce": _reproduce(manifest, storage_label, study_name),
    }


def _data_from_studies(studies: dict[str, optuna.Study]) -> dict[str, Any] | None:
    for study in studies.values():
        attrs = study.user_attrs
        if "data_sha256" in attrs:
            return {"source": attrs.get("data_source"), "sha256": attrs["data_sha256"]}
    return None


def _accuracies(family: dict[str, Any]) -> list[float]:
    return [r["test_accuracy"] for r in family["retrained"]]


def _verdict(families: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Winner, mean ± std over seeds, error-rate ratio, and McNemar per paired seed (the largest p decides)."""
    rows = {f: stats.spread(_accuracies(v)) for f, v in families.items() if v["retrained"]}
    if not rows:
        return None
    verdict: dict[str, Any] = {"rows": rows, "pairs": [], "winner": None}
    if len(rows) < 2:
        verdict["sentence"] = "Only one family has retrained models, so there is nothing to compare yet."
        return verdict
    ann, cnn = families["ann"]["retrained"], families["cnn"]["retrained"]
    for a, c in zip(ann, cnn):
        test = stats.mcnemar_exact(a["predictions"] == a["labels"], c["predictions"] == c["labels"])
        verdict["pairs"].append({"seeds": (a["seed"], c["seed"]), **test})
    winner, loser = ("cnn", "ann") if rows["cnn"]["mean"] >= rows["ann"]["mean"] else ("ann", "cnn")
    err = {f: 1.0 - rows[f]["mean"] for f in rows}
    ratio = err[loser] / err[winner] if err[winner] > 0 else float("inf")
    worst_p = max(p["p_value"] for p in verdict["pairs"])
    significant = worst_p < ALPHA
    verdict.update(
        winner=winner,
        loser=loser,
        error_ratio=ratio,
        worst_p=worst_p,
        significant=significant,
        sentence=(
            f"{winner.upper()} wins: test accuracy {100 * rows[winner]['mean']:.2f} % ± {100 * rows[winner]['std']:.2f} "
            f"against {100 * rows[loser]['mean']:.2f} % ± {100 * rows[loser]['std']:.2f} over {rows[winner]['n']} seeds; "
            f"{loser.upper()} makes {ratio:.2f}× as many errors. "
            + (
                f"The difference is significant in every seed pair (exact McNemar, largest p = {worst_p:.2g} < {ALPHA})."
                if significant
                else f"The difference is not significant: at least one seed pair has exact McNemar p ≥ {ALPHA} (largest p = {worst_p:.2g})."
            )
        ),
    )
    return verdict


def _search_section(families: dict[str, dict[str, Any]]) -> dict[str, Any]:
    section: dict[str, Any] = {"families": {}, "best_side_by_side": []}
    for family, value in families.items():
        summary, study = value["summary"], value["study"]
        complete = [t for t in summary["trials"] if t["state"] == "COMPLETE"]
        importances_order = _importance_order(study)
        section["families"][family] = {
            "summary": summary,
            "history": figures.optuna_plot(optuna_mpl.plot_optimization_history, study) if complete else None,
            "importances": figures.optuna_plot(optuna_mpl.plot_param_importances, study) if len(complete) >= 3 else None,
            "parallel": figures.optuna_plot(optuna_mpl.plot_parallel_coordinate, study, params=importances_order[:PARALLEL_PARAMS]) if len(complete) >= 2 and importances_order else None,
            "intermediate": figures.intermediate_values(summary["trials"], family) if summary["trials"] else None,
        }
    bests = {f: v["summary"]["best"] or {} for f, v in families.items()}
    section["best_side_by_side"] += [
        {"name": "trial", **{f: _trial_label(b) for f, b in bests.items()}},
        {"name": "validation accuracy", **{f: f"{b['value']:.2%}" if b else "—" for f, b in bests.items()}},
    ]
    keys: list[str] = []
    for best in bests.values():
        keys += [k for k in best.get("config", {}) if k not in keys]
    for key in keys:
        section["best_side_by_side"].append({"name": key, **{f: _show(b.get("config", {}).get(key, "—")) for f, b in bests.items()}})
    return section


def _trial_label(best: dict[str, Any]) -> str:
    """Which trial won, and whether it was one of the queued starts (seed notebook, recipe) or found by search."""
    if not best:
        return "—"
    return f"#{best['number']} ({best['start']} start)" if best.get("start") else f"#{best['number']} (found by search)"


def _importance_order(study: optuna.Study) -> list[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(optuna.importance.get_param_importances(study))
    except (ValueError, RuntimeError, ZeroDivisionError, IndexError):
        return []


def _retrained_section(families: dict[str, dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    section: dict[str, Any] = {"families": {}}
    with_runs = {f: v for f, v in families.items() if v["retrained"]}
    if not with_runs:
        return section
    section["curves"] = figures.learning_curves({f: [r["history"] for r in v["retrained"]] for f, v in with_runs.items()})
    section["seeds"] = figures.seed_accuracies({f: _accuracies(v) for f, v in with_runs.items()})
    for family, value in with_runs.items():
        runs = value["retrained"]
        first = runs[0]
        classes = list(range(len(labels)))
        matrix = sum(confusion_matrix(r["labels"], r["predictions"], labels=classes) for r in runs)
        precision, recall, f1, support = precision_recall_fscore_support(
            first["labels"], first["predictions"], labels=classes, zero_division=0
        )
        gallery = _gallery(Path(first["folder"]), labels, family)
        section["families"][family] = {
            "runs": [{k: r.get(k) for k in ("seed", "test_accuracy", "epochs", "train_seconds", "trial")} for r in runs],
            "confusion": figures.confusion(matrix, labels, f"{family.upper()}: summed over {len(runs)} seed(s)"),
            "per_class": [
                {"label": labels[i], "precision": precision[i], "recall": recall[i], "f1": f1[i], "support": int(support[i])}
                for i in classes
            ],
            "confused": stats.most_confused(matrix, labels),
            "gallery": gallery,
            "seed_of_tables": first["seed"],
        }
    return section


def _gallery(folder: Path, labels: list[str], family: str) -> str | None:
    path = folder / "gallery.npz"
    if not path.exists():
        return None
    with np.load(path) as npz:
        if len(npz["index"]) == 0:
            return None
        return figures.gallery(
            npz["images"], [labels[i] for i in npz["labels"]], [labels[i] for i in npz["predictions"]],
            f"{family.upper()}: misclassified test images (true→predicted)",
        )


def _cost_section(families: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rows = []
    points = {}
    for family, value in families.items():
        runs = value["retrained"]
        if runs:
            rows.append({
                "family": family,
                "params": runs[0]["params_count"],
                "flops": runs[0]["flops"],
                "train_seconds": stats.spread([r["train_seconds"] for r in runs]),
                "latency1": stats.spread([r["latency_ms_batch1"] for r in runs]),
                "latency256": stats.spread([r["latency_ms_batch256"] for r in runs]),
            })
        complete = [t for t in value["summary"]["trials"] if t["state"] == "COMPLETE" and t["params_count"]]
        params = [t["params_count"] for t in complete]
        accuracy = [t["value"] for t in complete]
        points[family] = {"params": params, "accuracy": accuracy, "front": stats.pareto_front(params, accuracy)}
    has_points = any(p["params"] for p in points.values())
    return {"rows": rows, "scatter": figures.accuracy_vs_params(points) if has_points else None,
            "fronts": {f: [{"params": p["params"][i], "accuracy": p["accuracy"][i]} for i in sorted(p["front"], key=lambda i: p["params"][i])] for f, p in points.items()}}


def _reproduce(manifest: dict[str, Any], storage_label: str, study_name: str) -> dict[str, Any]:
    return {
        "commands": manifest.get("commands", []),
        "versions": manifest.get("versions", {}),
        "machine": manifest.get("machine", {}),
        "seed": manifest.get("search", {}).get("seed"),
        "storage": storage_label,
        "dashboard": f"optuna-dashboard {storage_label}",
        "study_names": [f"{study_name}-ann", f"{study_name}-cnn"],
    }


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "-".join(map(str, value))
    return str(value)
