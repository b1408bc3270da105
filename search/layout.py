"""The run folder's layout, owned here and nowhere else: every file and folder name bakeoff writes under
``--out``, and the readers that walk them. Writers and readers (retraining, analyses, export, the report) name
paths through these, so a renamed file cannot leave one of them behind.

    OUT/
      study.db                      the default storage (sqlite)
      manifest.json                 versions, machine, commands, seeds, data hash
      search-job.json               what the search parent resolved for its workers
      prepared/KEY/                 the split as .npy files, memory-mapped by workers and later stages
      checkpoints/FAMILY/           the ladder's models at the last rung each configuration reached
      kerastuner/FAMILY/            KerasTuner's own project folder (--engine kerastuner)
      retrain/FAMILY/seed-K/        model.keras, predictions.npz, history.json, gallery.npz, robustness.json,
                                    metrics.json (written last: the seed is finished once it exists)
      analyses/FAMILY/*.json        data efficiency and shuffled-pixel results
      export/FAMILY/                exported formats, exports.json, card.json
      report.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bakeoff.search.files import read_json

STUDY_DB = "study.db"
#: What the search parent resolved for its workers (search/app/job.py).
JOB_FILE = "search-job.json"
MANIFEST_FILE = "manifest.json"
#: The split prepared once, per data and split options (search/data/prepared.py names the sub-folders).
PREPARED_DIR = "prepared"
REPORT_FILE = "report.html"
#: The engines' working folders: the ladder's checkpoints (Optuna) and KerasTuner's project.
ENGINE_DIRS = {"optuna": "checkpoints", "kerastuner": "kerastuner"}
#: A retrained seed's model, its test predictions and its training history (search/evaluation/retrain.py).
MODEL_FILE = "model.keras"
PREDICTIONS_FILE = "predictions.npz"
HISTORY_FILE = "history.json"
RETRAIN_DIR = "retrain"
#: Next to each retrained model: its accuracy under perturbations (search/evaluation/robustness.py writes, the report reads).
ROBUSTNESS_FILE = "robustness.json"
#: Exported models, per family, with what verifying them found (search/deploy/export.py writes, the report reads).
EXPORT_DIR = "export"
#: Results of the analyses that retrain (search/evaluation/analyses.py), per family.
ANALYSES_DIR = "analyses"
EXPORTS_FILE = "exports.json"
#: Written last in a retrained seed's folder (search/evaluation/retrain.py): the seed is finished once it exists.
METRICS_FILE = "metrics.json"
#: Beside it, the test images the seed got wrong (search/evaluation/retrain.py keeps them, the report shows them).
GALLERY_FILE = "gallery.npz"


#: Beside the exported formats: what a user of the model needs (input, scaling, classes, provenance).
CARD_FILE = "card.json"


def checkpoint(workdir: Path, study: str, key: int, epochs: int) -> Path:
    """The ladder's model of configuration ``key`` of ``study`` (e.g. ``bakeoff-cnn``) after ``epochs`` epochs, weights
    and optimiser state. Per study: two studies in one run directory number their configurations alike."""
    return workdir / study / f"config-{key}-epoch-{epochs}.keras"


def checkpoints(workdir: Path, study: str, key: int) -> list[Path]:
    return sorted((workdir / study).glob(f"config-{key}-epoch-*.keras"))


def retrain_dir(out: Path, family: str, seed: int) -> Path:
    return out / RETRAIN_DIR / family / f"seed-{seed}"


def retrained(out: Path, family: str) -> list[tuple[Path, dict[str, Any]]]:
    """Each finished retraining of ``family`` in seed order: its folder and what its metrics file says."""
    found = [(folder, metrics_of(folder)) for folder in (out / RETRAIN_DIR / family).glob("seed-*")]
    found = [(folder, metrics) for folder, metrics in found if metrics is not None]
    return sorted(found, key=lambda pair: pair[1].get("seed", 0))


def metrics_of(folder: Path) -> dict[str, Any] | None:
    """What a retrained seed's metrics file says; None if unfinished (a seed killed before its metrics file,
    written last and atomically, has none and is retrained again)."""
    return read_json(folder / METRICS_FILE)


def retrained_models(out: Path) -> list[Path]:
    """Every retrained model file of any family (finished or not)."""
    return sorted((out / RETRAIN_DIR).glob(f"*/seed-*/{MODEL_FILE}"))


def analyses_files(out: Path) -> list[Path]:
    """Every result file of the analyses that retrain, of any family."""
    return sorted(out.glob(f"{ANALYSES_DIR}/*/*.json"))


def export_summaries(out: Path) -> list[Path]:
    """Every family's ``exports.json``."""
    return sorted(out.glob(f"{EXPORT_DIR}/*/{EXPORTS_FILE}"))
