"""Fake runs for report tests and benchmarks: studies built with optuna.trial.create_trial, no training.

The trials carry the same user attributes a real search records, and the retrained artefacts have the
same files and keys ``search.evaluation.retrain`` writes, so the report cannot tell them from a real run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from bakeoff.search import layout
from bakeoff.search.engine import record
from bakeoff.search.engine.record import Outcome

DISTRIBUTIONS = {
    "ann": {"hidden_layers": IntDistribution(1, 4), "learning_rate": FloatDistribution(1e-4, 3e-2, log=True),
            "dropout": FloatDistribution(0.0, 0.5), "optimizer": CategoricalDistribution(["adam", "adamw", "sgd"])},
    "cnn": {"conv_blocks": IntDistribution(1, 4), "learning_rate": FloatDistribution(1e-4, 3e-2, log=True),
            "dropout": FloatDistribution(0.0, 0.5), "pooling": CategoricalDistribution(["max", "avg", "strided"])},
}


#: The machine fake measurements were "made" on, recorded as a real run records it.
FAKE_MACHINE = {"cpu": "Fake CPU", "cores": 2}


def fake_study(storage, name: str, family: str, n_trials: int, seed: int = 0, val_size: int = 6000, cost: str | None = None) -> optuna.Study:
    """``cost`` ("latency" or "size"): a multi-objective study, every trial's cost measured as the search records it."""
    rng = np.random.default_rng(seed)
    objectives = ["accuracy"] + ([cost] if cost else [])
    study = optuna.create_study(storage=storage, study_name=record.study_name(name, family), directions=["maximize"] + ["minimize"] * bool(cost))
    study.set_user_attr(record.OBJECTIVES, objectives)
    study.set_user_attr("family", family)
    study.set_user_attr("data_source", "fake")
    study.set_user_attr("data_sha256", "0" * 64)
    study.set_user_attr(record.VAL_SIZE, val_size)
    trials = []
    for number in range(n_trials):
        params = {k: d.to_external_repr(d.to_internal_repr(_draw(d, rng))) for k, d in DISTRIBUTIONS[family].items()}
        curve = np.sort(rng.uniform(0.8, 0.995, size=5)).tolist()
        outcome = [Outcome.COMPLETE, Outcome.PRUNED, Outcome.FAILED][int(rng.choice(3, p=[0.7, 0.2, 0.1]))]
        attrs = {record.CONFIG: params, "params_count": int(rng.integers(5_000, 2_000_000)), "flops": int(rng.integers(10_000, 10**8)),
                 record.EPOCHS_RUN: 5, record.BEST_EPOCH: 5, record.MAX_EPOCHS: 5, "seconds_per_epoch": 1.5,
                 record.CURVES: {"val_accuracy": curve}, record.OUTCOME: outcome.value, record.SECONDS: 7.5}
        if cost:
            attrs[record.COST] = {"latency_ms": round(float(rng.uniform(0.005, 0.5)), 5), "float32_bytes": 4 * attrs["params_count"],
                                  "int8_bytes": attrs["params_count"] + 2000, "threads": 1, "machine": FAKE_MACHINE, "seconds": 2.0}
        if number == 0:
            attrs[record.START] = "seed notebook"
        if outcome is not Outcome.COMPLETE:
            attrs[record.REASON] = "pruned: below median" if outcome is Outcome.PRUNED else "ValueError: cannot build"
        state = outcome.state
        values = None if state != TrialState.COMPLETE else [curve[-1]] + ([attrs[record.COST]["latency_ms" if cost == "latency" else "int8_bytes"]] if cost else [])
        trials.append(create_trial(
            state=state, values=values, params=params,
            distributions=DISTRIBUTIONS[family], user_attrs=attrs,
            intermediate_values=dict(enumerate(curve if state != TrialState.FAIL and not cost else [])),
        ))
    study.add_trials(trials)
    return study


def _draw(distribution, rng):
    if isinstance(distribution, CategoricalDistribution):
        return distribution.choices[int(rng.integers(len(distribution.choices)))]
    if isinstance(distribution, IntDistribution):
        return int(rng.integers(distribution.low, distribution.high + 1))
    return float(rng.uniform(distribution.low, distribution.high))


def fake_retrained(out: Path, family: str, seeds: int, accuracy: float, n_test: int = 1000, seed: int = 0, trial: int = 0,
                   limits: dict | None = None, machines: list[dict] | None = None) -> None:
    """Test predictions with the given accuracy, laid out as search.evaluation.retrain lays them out (``limits``: the
    --max-latency / --max-size they were chosen under, as retraining records them; ``machines``: each seed's machine,
    by default FAKE_MACHINE)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n_test) % 10
    for k in range(seeds):
        folder = layout.retrain_dir(out, family, k)
        folder.mkdir(parents=True, exist_ok=True)
        predictions = labels.copy()
        wrong = rng.choice(n_test, int(round((1 - accuracy) * n_test)), replace=False)
        predictions[wrong] = (labels[wrong] + 1 + rng.integers(0, 9, len(wrong))) % 10
        probabilities = np.eye(10, dtype=np.float32)[predictions]
        np.savez(folder / "predictions.npz", probabilities=probabilities, predictions=predictions, labels=labels)
        np.savez(folder / "gallery.npz", index=wrong[:8], images=rng.integers(0, 255, (min(8, len(wrong)), 8, 8, 1), dtype=np.uint8),
                 labels=labels[wrong[:8]], predictions=predictions[wrong[:8]])
        (folder / "history.json").write_text(json.dumps({"loss": [1.0, 0.5, 0.3], "accuracy": [0.8, 0.9, 0.95]}))
        metrics = {"test_accuracy": float((predictions == labels).mean()), "epochs": 3, "train_seconds": 10.0 + k,
                   "params_count": 100_000, "flops": 200_000, "latency_ms_batch1": 0.5, "latency_ms_batch256": 0.01,
                   "trial": trial, "family": family, "seed": k, "config": {}, "machine": (machines or [FAKE_MACHINE] * seeds)[k],
                   **({"limits": limits} if limits is not None else {})}
        (folder / "metrics.json").write_text(json.dumps(metrics))
