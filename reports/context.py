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

from bakeoff.reports import figures, fronts, progress, selection
from bakeoff.reports.collect import load_analyses, load_exports, load_retrained, snapshot, study_summary
from bakeoff.reports.deploy import deploy_section
from bakeoff.reports.machines import machines_of, measured_on
from bakeoff.reports.notes import notes
from bakeoff.reports.verdict import compare
from bakeoff.reports.why import why_section
from bakeoff.search import stats
from bakeoff.search.engine import record
from bakeoff.search.engine.objectives import LATENCY, Limits
from bakeoff.search.engine.studies import objectives_of
from bakeoff.search.manifest import read_manifest

PARALLEL_PARAMS = 6
#: Misclassified images shown per family (the retraining keeps more, for the disagreements).
GALLERY_SIZE = 24


def build_context(out: Path, studies: dict[str, optuna.Study], storage_label: str, study_name: str, retraining_next: bool = False) -> dict[str, Any]:
    manifest = read_manifest(out)
    studies = {family: snapshot(study) for family, study in studies.items()}
    limits = Limits.from_dict(manifest.get("retrain", {}).get("limits"))  # what retraining chose under
    summaries = {family: study_summary(study, limits) for family, study in studies.items()}
    # Only models retrained under the limits retraining last chose with: one chosen otherwise may break them.
    retrained = {family: [r for r in load_retrained(out, family) if (r.get("limits") or {}) == limits.to_dict()] for family in summaries}
    data = manifest.get("search", {}).get("data") or _data_from_studies(studies)
    labels = (data or {}).get("classes") or [str(i) for i in range(10)]
    found = {f: selection.select(s["trials"], _val_size(s, data), limits) for f, s in summaries.items()}
    verdict = compare(retrained)
    if verdict is not None:
        verdict["stale"] = [m for f, s in summaries.items() if (m := selection.stale(f, s["best"], retrained[f]))]
        verdict["limits"] = None
    if limits:
        verdict = verdict or {"sentence": "No model meets the limits, so there is nothing to compare.", "rows": {}, "pairs": [], "stale": [], "scope": None}
        verdict["limits"] = _limits_sentence(limits, summaries, retrained)
        if (only := _only_family_within(limits, summaries, retrained)) is not None:
            verdict["sentence"] = only
    return {
        "title": f"bakeoff report: {study_name}",
        "tie_se": f"{selection.TIE_SE:g}",
        "study_name": study_name,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "notes": notes(summaries, retrained, retraining_next),
        "verdict": verdict,
        "data": data,
        "search": _search_section(summaries, studies, found, limits),
        "retrained": _retrained_section(retrained, labels),
        "why": why_section(retrained, labels, load_analyses(out)),
        # An export of a model no longer among the current retrained ones (chosen under other limits) is not shown.
        "deploy": deploy_section({f: e for f, e in load_exports(out).items()
                                  if any(r.get("trial") == (e.get("card") or {}).get("trial") for r in retrained.get(f, []))}),
        "cost": _cost_section(summaries, retrained, studies, _val_size(next(iter(summaries.values())), data) if summaries else None),
        "reproduce": _reproduce(manifest, storage_label, study_name),
    }


def _unmet(limits: Limits, summary: dict[str, Any]) -> str | None:
    """Why no complete trial of this family meets the limits; None when one does (or none is complete)."""
    return limits.unmet([t.get("cost") for t in summary["trials"] if t["state"] == "COMPLETE" and t["value"] is not None])


def _only_family_within(limits: Limits, summaries: dict[str, dict[str, Any]], retrained: dict[str, list[dict[str, Any]]]) -> str | None:
    """The verdict when one family has models retrained within the limits and no trial of the other meets them:
    the question "is the CNN still ahead under this limit?" then has an answer (no model of the other family to
    ship), which "nothing to compare yet" would hide."""
    have = [f for f in summaries if retrained.get(f)]
    missing = [f for f in summaries if f not in have and _unmet(limits, summaries[f]) is not None]
    if len(have) != 1 or len(missing) != 1:
        return None
    return (f"Under {limits.describe()} only the {have[0].upper()} can be shipped: no complete {missing[0].upper()} trial of this search "
            f"meets the limit, so there is no {missing[0].upper()} to compare with.")


def _limits_sentence(limits: Limits, summaries: dict[str, dict[str, Any]], retrained: dict[str, list[dict[str, Any]]]) -> str:
    """Which trial each family's models come from under the limits, or why a family has none."""
    parts = []
    for family, summary in summaries.items():
        runs = retrained.get(family) or []
        if (unmet := _unmet(limits, summary)) is not None:
            parts.append(f"{family.upper()}: {unmet}, so none was retrained")
        elif runs and runs[0].get("trial") == (summary["best"] or {}).get("number"):
            parts.append(f"{family.upper()}: trial #{runs[0].get('trial')}, the most accurate complete trial that meets them")
        elif runs:
            parts.append(f"{family.upper()}: trial #{runs[0].get('trial')}, the most accurate that met them when it was retrained (see the note on it above)")
        else:
            parts.append(f"{family.upper()}: not retrained under them yet")
    return f"Chosen under {limits.describe()}. " + "; ".join(parts) + "."


def _val_size(summary: dict[str, Any], data: dict[str, Any] | None) -> int | None:
    return summary["attrs"].get(record.VAL_SIZE) or (data or {}).get("val")


def _data_from_studies(studies: dict[str, optuna.Study]) -> dict[str, Any] | None:
    for study in studies.values():
        attrs = study.user_attrs
        if "data_sha256" in attrs:
            return {"source": attrs.get("data_source"), "sha256": attrs["data_sha256"]}
    return None


def _accuracies(runs: list[dict[str, Any]]) -> list[float]:
    return [r["test_accuracy"] for r in runs]


def _search_section(summaries: dict[str, dict[str, Any]], studies: dict[str, optuna.Study], found: dict[str, Any], limits: Limits) -> dict[str, Any]:
    section: dict[str, Any] = {"families": {}, "best_side_by_side": []}
    for family, summary in summaries.items():
        study = studies[family]
        complete = [t for t in summary["trials"] if t["state"] == "COMPLETE"]
        # Optuna's plots of a multi-objective study need the value to draw: validation accuracy, as everywhere here.
        target = {"target": record.accuracy, "target_name": "validation accuracy"} if len(study.directions) > 1 else {}
        importances_order = _importance_order(study, target)
        progress_found = progress.anytime(summary["trials"], found[family]["n_val"] if found[family] else None)
        unmet = limits.unmet([t.get("cost") for t in complete]) if limits else None
        section["families"][family] = {
            "summary": summary,
            "selection": selection.describe(family, found[family], unmet),
            "progress": progress.sentence(family, progress_found),
            "progress_figure": figures.search_progress(progress_found, family) if progress_found else None,
            "history": figures.optuna_plot(optuna_mpl.plot_optimization_history, study, **target) if complete else None,
            "importances": figures.optuna_plot(optuna_mpl.plot_param_importances, study, **target) if len(complete) >= 3 else None,
            "parallel": figures.optuna_plot(optuna_mpl.plot_parallel_coordinate, study, params=importances_order[:PARALLEL_PARAMS], **target) if len(complete) >= 2 and importances_order else None,
            "intermediate": figures.intermediate_values(summary["trials"], family) if summary["trials"] else None,
        }
    bests = {f: s["best"] or {} for f, s in summaries.items()}
    section["best_side_by_side"] += [
        {"name": "trial", **{f: found[f]["label"] if found[f] else "—" for f in bests}},
        {"name": "validation accuracy (optimistic)", **{f: f"{b['value']:.2%}" if b else "—" for f, b in bests.items()}},
    ]
    keys: list[str] = []
    for best in bests.values():
        keys += [k for k in best.get("config", {}) if k not in keys]
    for key in keys:
        section["best_side_by_side"].append({"name": key, **{f: _show(b.get("config", {}).get(key, "—")) for f, b in bests.items()}})
    return section


def _importance_order(study: optuna.Study, target: dict[str, Any]) -> list[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(optuna.importance.get_param_importances(study, target=target.get("target")))
    except (ValueError, RuntimeError, ZeroDivisionError, IndexError):
        return []


def _retrained_section(retrained: dict[str, list[dict[str, Any]]], labels: list[str]) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    section: dict[str, Any] = {"families": {}}
    with_runs = {f: runs for f, runs in retrained.items() if runs}
    if not with_runs:
        return section
    section["curves"] = figures.learning_curves({f: [r["history"] for r in runs] for f, runs in with_runs.items()})
    section["seeds"] = figures.seed_accuracies({f: _accuracies(runs) for f, runs in with_runs.items()})
    for family, runs in with_runs.items():
        first = runs[0]
        classes = list(range(len(labels)))
        matrix = sum(confusion_matrix(r["labels"], r["predictions"], labels=classes) for r in runs)
        precision, recall, f1, support = precision_recall_fscore_support(
            first["labels"], first["predictions"], labels=classes, zero_division=0
        )
        gallery = _gallery(first.get("mistakes", {}), labels, family)
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


def _gallery(mistakes: dict[int, tuple[np.ndarray, int, int]], labels: list[str], family: str) -> str | None:
    if not mistakes:
        return None
    images, true, predicted = zip(*list(mistakes.values())[:GALLERY_SIZE])
    return figures.gallery(
        np.stack(images), [labels[t] for t in true], [labels[p] for p in predicted],
        f"{family.upper()}: misclassified test images (true→predicted)",
    )


def _cost_section(summaries: dict[str, dict[str, Any]], retrained: dict[str, list[dict[str, Any]]], studies: dict[str, optuna.Study],
                  n_val: int | None) -> dict[str, Any]:
    rows = []
    params = {}
    for family, summary in summaries.items():
        runs = retrained[family]
        if runs:
            rows.append({
                "family": family,
                "params": runs[0]["params_count"],
                "flops": runs[0]["flops"],
                "train_seconds": stats.spread([r["train_seconds"] for r in runs]),
                "latency1": stats.spread([r["latency_ms_batch1"] for r in runs]),
                "latency256": stats.spread([r["latency_ms_batch256"] for r in runs]),
            })
        complete = [t for t in summary["trials"] if t["state"] == "COMPLETE" and t["params_count"]]
        cost, accuracy = [t["params_count"] for t in complete], [t["value"] for t in complete]
        params[family] = {"cost": cost, "accuracy": accuracy, "front": stats.pareto_front(cost, accuracy)}
    has_points = any(p["cost"] for p in params.values())
    return {
        "rows": rows,
        "measured_on": measured_on([r.get("machine") for runs in retrained.values() for r in runs]),
        "scatter": figures.accuracy_vs_cost(params, "parameters") if has_points else None,
        "objective": _objective_fronts(summaries, retrained, studies, n_val),
    }


#: How each cost objective was measured, for the report.
MEASURED = {
    "latency": "latency per image of the LiteRT float32 file at batch 1 on one interpreter thread (median of timed calls after a "
               "warm-up), measured on each trial's model before it trained",
    "size": "size of the LiteRT int8 file (full-integer, float32 input and output), made from each trial's model before it trained",
}


def _objective_fronts(summaries: dict[str, dict[str, Any]], retrained: dict[str, list[dict[str, Any]]], studies: dict[str, optuna.Study],
                      n_val: int | None) -> dict[str, Any] | None:
    """A multi-objective search's fronts: both families on one plot, hypervolume over charged time, the sentence."""
    costs = {objectives_of(study).cost for study in studies.values()} - {None}
    if len(costs) != 1:
        return None
    cost = costs.pop()
    trials = {family: summary["trials"] for family, summary in summaries.items()}
    found = {family: fronts.points(t, cost) for family, t in trials.items()}
    measured = MEASURED[cost]
    if cost == LATENCY and any(found.values()):
        measured += ", " + measured_on([p["trial"]["cost"].get("machine") for pts in found.values() for p in pts])
    ref = fronts.reference(found)
    if ref is None:
        return {"cost": cost, "measured": measured, "figure": None, "sentence": fronts.sentence(trials, cost, n_val)}
    marked = {}
    for family, runs in retrained.items():
        chosen = next((p for p in found.get(family, []) if runs and p["trial"]["number"] == runs[0].get("trial")), None)
        if chosen is not None:
            marked[family] = (chosen["cost"], chosen["accuracy"])
    shown = {f: fronts.per_configuration(pts) for f, pts in found.items()}
    drawn = {f: {"cost": [p["cost"] for p in pts], "accuracy": [p["accuracy"] for p in pts],
                 "front": stats.pareto_front([p["cost"] for p in pts], [p["accuracy"] for p in pts])} for f, pts in shown.items()}
    label = "latency per image, LiteRT float32, batch 1, one thread (ms)" if cost == LATENCY else "LiteRT int8 file size (bytes)"
    return {
        "cost": cost, "measured": measured,
        "figure": figures.accuracy_vs_cost(drawn, label, marked),
        "segments": sum(map(len, found.values())) > sum(map(len, shown.values())),  # a ladder's segments drawn once per configuration
        "hypervolume": figures.hypervolume_over_time({f: fronts.hypervolume_over_time(t, cost, ref) for f, t in trials.items()}),
        "hypervolumes": {f: fronts.hypervolume(pts, ref) for f, pts in found.items()},
        "reference": ref,
        "sentence": fronts.sentence(trials, cost, n_val),
    }


def _reproduce(manifest: dict[str, Any], storage_label: str, study_name: str) -> dict[str, Any]:
    return {
        "commands": manifest.get("commands", []),
        "versions": manifest.get("versions", {}),
        "machines": machines_of(manifest.get("commands", []), manifest.get("machine")),
        "seed": manifest.get("search", {}).get("seed"),
        "backends": {stage: manifest[stage]["backend"] for stage in ("search", "retrain") if manifest.get(stage, {}).get("backend")},
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
