"""The report from fake studies (create_trial, no training): sections, escaping, partial states."""

import json
import re
import subprocess
import sys

import numpy as np
import optuna
import pytest

from bakeoff.search import layout
from bakeoff.search.app.main import main
from bakeoff.search.engine import record
from bakeoff.search.engine.record import study_name
from bakeoff.search.errors import UserError

from fakes import fake_retrained, fake_study

SECTIONS = ["1. Verdict", "2. Data", "3. Search", "4. Retrained models", "5. Why", "6. Deploy", "7. Cost", "8. Reproduce"]


def _storage(out):
    out.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{out}/study.db"


def _report(out, name, capsys=None):
    code = main(["report", "--out", str(out), "--study", name])
    return code, (out / "report.html").read_text() if (out / "report.html").exists() else ""


def test_full_report_has_every_section_and_a_verdict(tmp_path):
    out = tmp_path / "run"
    storage = _storage(out)
    best = {f: fake_study(storage, "full", f, 40, seed=1 if f == "cnn" else 0).best_trial.number for f in ("ann", "cnn")}
    fake_retrained(out, "ann", 3, accuracy=0.97, trial=best["ann"])
    fake_retrained(out, "cnn", 3, accuracy=0.99, seed=1, trial=best["cnn"])
    code, html = _report(out, "full")
    assert code == 0
    for section in SECTIONS:
        assert section in html
    assert "CNN wins: every seed pair favours it" in html and "does not cover the randomness of the search itself" in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 12 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in html and "https://" not in html  # nothing to fetch: readable offline
    assert "Not everything is here yet" not in html and "Out of date" not in html
    for family in ("ann", "cnn"):  # the best-configuration table names the winning trial and its score
        best = optuna.load_study(study_name=study_name("full", family), storage=storage).best_trial
        assert f"trial #{best.number} reached {best.value:.2%}".replace("%", " %") in html
        assert "complete trials and its score is its best epoch, so its validation accuracy is optimistic" in html


def test_why_section_shows_what_was_measured_and_says_what_was_not(tmp_path):
    out = tmp_path / "run"
    storage = _storage(out)
    for family, accuracy in (("ann", 0.9), ("cnn", 0.95)):
        fake_study(storage, "why", family, 5)
        fake_retrained(out, family, 2, accuracy=accuracy, seed=1 if family == "cnn" else 0)
    code, html = _report(out, "why")
    assert code == 0
    assert "Expected calibration error (15 bins, mean ± std over seeds): ANN " in html
    assert "Over 2 seed pairs (mean ± std), the CNN gets" in html
    assert "Not measured yet: run 'bakeoff analyse'" in html
    for family, strongest in (("ann", 0.3), ("cnn", 0.7)):
        right = np.arange(1000) < strongest * 1000  # the same images for both families; the CNN gets 400 more right
        kinds = {"shift": {"unit": "px", "strengths": [1, 4], "accuracy": [0.8, strongest], "strongest_correct": record.pack_correct(right)}}
        for seed in (0, 1):
            (layout.retrain_dir(out, family, seed) / layout.ROBUSTNESS_FILE).write_text(json.dumps({"version": 2, "clean": 0.9, "kinds": kinds}))
    _write_analyses(out, trial=0)
    code, html = _report(out, "why")
    assert "under 4-pixel shifts the ANN 30.0 % ± 0.0, the CNN 70.0 % ± 0.0" in html
    assert "with 5 % of the training images, the ANN 80.00 % ± 0.00 % after 10 optimisation steps and the CNN 80.00 % ± 0.00 %" in html
    assert 'alt="test accuracy against training-set size"' in html
    assert "on pixels shuffled by one fixed permutation: it vanishes" in html and " On shuffled pixels: " in html
    assert "The CNN scores higher at the strongest setting of every perturbation" in html
    assert "Not measured yet" not in html and 'alt="accuracy under perturbations"' in html
    assert "are left out" not in html


def _write_analyses(out, trial):
    """Data-efficiency and shuffled-pixel results of ``trial``, as search/evaluation/analyses.py writes them."""
    with np.load(layout.retrain_dir(out, "ann", 0) / "predictions.npz") as npz:  # both families alike on shuffled pixels
        predictions, labels = npz["predictions"].tolist(), npz["labels"].tolist()
        accuracy = float((npz["predictions"] == npz["labels"]).mean())
    for family in ("ann", "cnn"):
        folder = out / layout.ANALYSES_DIR / family
        folder.mkdir(parents=True, exist_ok=True)
        for seed in (0, 1):
            (folder / f"efficiency-5pct-seed-{seed}.json").write_text(json.dumps(
                {"kind": "efficiency", "fraction": 0.05, "seed": seed, "trial": trial, "test_accuracy": 0.8, "train_images": 50, "steps": 10,
                 "full_steps": 200}))
            (folder / f"shuffled-seed-{seed}.json").write_text(json.dumps({"kind": "shuffled", "fraction": 1.0, "seed": seed, "trial": trial,
                                                                         "test_accuracy": accuracy, "predictions": predictions, "labels": labels}))


def test_analyses_of_an_earlier_best_trial_are_not_drawn_as_current(tmp_path):
    """The search was extended after the analyses ran and retraining redone from a new best trial (#4)."""
    out = tmp_path / "run"
    storage = _storage(out)
    for family in ("ann", "cnn"):
        fake_study(storage, "stale", family, 5)
        fake_retrained(out, family, 2, accuracy=0.9, trial=0)
    _write_analyses(out, trial=0)
    code, html = _report(out, "stale")
    assert code == 0 and 'alt="test accuracy against training-set size"' in html and "are left out" not in html
    for family in ("ann", "cnn"):
        fake_retrained(out, family, 2, accuracy=0.93, trial=4)  # retraining redone from the new best
    code, html = _report(out, "stale")
    assert code == 0
    assert 'alt="test accuracy against training-set size"' not in html and "on pixels shuffled" not in html
    assert ("4 ANN analysis result(s) come from trial #0 (or other data), not from trial #4 that the retrained models come from: "
            "they are left out. Run &#39;bakeoff analyse --analyses full&#39; to redo them.") in html
    assert "Not measured: run 'bakeoff analyse --analyses full'" in html
    assert "retrainings done" not in html  # "8 of 8 retrainings done" counted the old trial's results


def test_names_and_values_from_storage_are_escaped(tmp_path):
    out = tmp_path / "run"
    name = "<script>alert(1)</script>"
    study = fake_study(_storage(out), name, "ann", 5)
    study.set_user_attr("data_source", "<img src=x onerror=alert(2)>")
    code, html = _report(out, name)
    assert code == 0
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_partial_run_renders_what_exists_and_says_what_is_missing(tmp_path):
    out = tmp_path / "run"
    storage = _storage(out)
    study = fake_study(storage, "part", "ann", 3)
    running = study.ask()  # a trial still under way
    code, html = _report(out, "part")
    assert code == 0
    assert "No CNN study exists" in html
    assert "No retrained ANN models yet" in html
    assert "still running" in html
    assert running.number == 3


def test_empty_study_renders(tmp_path):
    out = tmp_path / "run"
    optuna.create_study(storage=_storage(out), study_name="empty-cnn", direction="maximize")
    code, html = _report(out, "empty")
    assert code == 0 and "The CNN study has no trial yet, so there is nothing of it to retrain." in html


def test_report_command_does_not_import_tensorflow(tmp_path):
    out = tmp_path / "run"
    storage = _storage(out)
    fake_study(storage, "t", "ann", 5)
    fake_retrained(out, "ann", 1, accuracy=0.9)
    probe = (
        "import sys\nfrom bakeoff.search.app.main import main\n"
        f"code = main(['report', '--out', {str(out)!r}, '--study', 't'])\n"
        "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split()[-3:] == ["0", "False", "False"]


def test_models_retrained_from_an_older_best_trial_are_called_out_of_date(tmp_path):
    out = tmp_path / "run"
    storage = _storage(out)
    best = {f: fake_study(storage, "stale", f, 20, seed=3).best_trial.number for f in ("ann", "cnn")}
    fake_retrained(out, "ann", 2, accuracy=0.97, trial=best["ann"])
    old = next(n for n in range(20) if n != best["cnn"])
    fake_retrained(out, "cnn", 2, accuracy=0.99, seed=1, trial=old)  # the study went on after retraining
    code, html = _report(out, "stale")
    assert code == 0
    assert f"Out of date: the CNN study&#39;s best trial is now #{best['cnn']}" in html
    assert f"retrained CNN models come from trial #{old}" in html and "Out of date: the ANN" not in html


def test_retrained_seeds_are_read_in_seed_order_and_an_unfinished_one_is_left_out(tmp_path):
    from bakeoff.reports.collect import load_retrained

    fake_retrained(tmp_path, "cnn", 12, accuracy=0.95)
    metrics = layout.retrain_dir(tmp_path, "cnn", 5) / layout.METRICS_FILE
    metrics.write_text('{"test_accur')  # not what bakeoff writes (atomically): refused, not passed over
    with pytest.raises(UserError, match="metrics.json is not a JSON file bakeoff wrote"):
        load_retrained(tmp_path, "cnn")
    metrics.unlink()  # killed before its metrics file, which is written last
    runs = load_retrained(tmp_path, "cnn")
    assert [r["seed"] for r in runs] == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]  # seed-10 after seed-9, not after seed-1
    wrong = np.flatnonzero(runs[0]["predictions"] != runs[0]["labels"])
    assert 0 < len(runs[0]["mistakes"]) <= len(wrong) and set(runs[0]["mistakes"]) <= set(wrong.tolist())
    assert [metrics["seed"] for _, metrics in layout.retrained(tmp_path, "cnn")] == [r["seed"] for r in runs]


def _limited_run(tmp_path, limits, retrained_under, accuracy=None, seeds=None):
    """Fake multi-objective studies (accuracy and latency; ``seeds``: their seed per family), models retrained under
    ``retrained_under`` per family (None: under no limit), and the manifest saying retraining last used ``limits``."""
    from bakeoff.search.engine.objectives import Limits
    from bakeoff.search.manifest import command_line, update_manifest

    out = tmp_path / "run"
    storage = _storage(out)
    chosen = {}
    for family in ("ann", "cnn"):
        study = fake_study(storage, "mo", family, 30, seed=(seeds or {"ann": 4, "cnn": 3})[family], cost="latency")
        chosen[family] = record.best_trial(study.get_trials(), Limits.from_dict(limits))
        under = retrained_under[family]
        fake_retrained(out, family, 2, accuracy=(accuracy or {"ann": 0.97, "cnn": 0.99})[family], seed=int(family == "cnn"),
                       trial=chosen[family].number if chosen[family] else 0, limits=under)
    update_manifest(out, "retrain", {"seeds": 2, "limits": limits}, command_line(["retrain"]))
    return out, chosen


@pytest.mark.parametrize(("accuracy", "winner"), [({"ann": 0.97, "cnn": 0.99}, "CNN"), ({"ann": 0.99, "cnn": 0.97}, "ANN")])
def test_a_limit_report_compares_the_models_chosen_within_it_and_draws_both_fronts(tmp_path, accuracy, winner):
    limits = {"latency": 0.2}
    out, chosen = _limited_run(tmp_path, limits, {"ann": limits, "cnn": limits}, accuracy)
    code, html = _report(out, "mo")
    assert code == 0
    assert all(c is not None and c.user_attrs[record.COST]["latency_ms"] <= 0.2 for c in chosen.values())
    assert (f"Chosen under --max-latency 0.2 ms. ANN: trial #{chosen['ann'].number}, the most accurate complete trial that meets them; "
            f"CNN: trial #{chosen['cnn'].number}, the most accurate complete trial that meets them.") in html
    assert f"{winner} wins" in html and "Out of date" not in html
    assert "Only trials that meet --max-latency 0.2 ms are compared here" in html
    assert "Under a latency limit (each family&#39;s most accurate complete trial within it, on validation)" in html
    assert "accuracy versus latency, both families' fronts" in html and "hypervolume against charged time" in html


def test_models_retrained_under_other_limits_are_not_reported_and_an_unmet_limit_says_so(tmp_path):
    limits = {"latency": 0.001}  # 1 µs: below every fake trial's latency
    out, chosen = _limited_run(tmp_path, limits, {"ann": None, "cnn": {"latency": 0.3}})
    assert chosen == {"ann": None, "cnn": None}
    code, html = _report(out, "mo")
    assert code == 0
    assert "No model meets the limits, so there is nothing to compare." in html
    for family in ("ANN", "CNN"):
        assert f"{family}: no complete trial meets --max-latency 1 µs (the fastest complete trial: " in html
        assert f"{family}: no complete trial meets --max-latency 1 µs (the fastest complete trial: " in html.split("3. Search")[1]
    assert "so none was retrained" in html and "CNN wins" not in html and "4. Retrained models" in html


@pytest.mark.parametrize("within", ["ann", "cnn"])
def test_a_limit_only_one_family_meets_answers_which_ships_instead_of_nothing_to_compare_yet(tmp_path, within):
    """Issue 27's question under a latency limit (is the CNN still ahead?), answered when only one family has a trial
    within it, whichever family that is."""
    other = "cnn" if within == "ann" else "ann"
    probe = _storage(tmp_path / "probe")
    fastest = {seed: min(t.user_attrs[record.COST]["latency_ms"] for t in fake_study(probe, f"p{seed}", "ann", 30, seed=seed, cost="latency").get_trials()
                         if t.state.name == "COMPLETE") for seed in (3, 4)}
    quick, slow = sorted(fastest, key=fastest.get)
    assert fastest[quick] < fastest[slow]
    limits = {"latency": round((fastest[quick] + fastest[slow]) / 2, 5)}  # between the two families' fastest trials
    out, chosen = _limited_run(tmp_path, limits, {within: limits, other: None}, seeds={within: quick, other: slow})
    assert chosen[within] is not None and chosen[other] is None
    code, html = _report(out, "mo")
    assert code == 0
    assert (f"only the {within.upper()} can be shipped: no complete {other.upper()} trial of this search meets the limit, "
            f"so there is no {other.upper()} to compare with.") in html
    assert f"{other.upper()}: no complete trial meets --max-latency" in html
    assert "nothing to compare yet" not in html and "wins" not in html.split("3. Search")[0]


def test_a_run_resumed_on_another_machine_names_both_where_their_figures_are_shown(tmp_path):
    from bakeoff.search.manifest import command_line, update_manifest

    xeon, epyc = {"cpu": "Intel Xeon", "cores": 2, "node": "h1"}, {"cpu": "AMD EPYC", "cores": 4, "node": "h2"}
    out = tmp_path / "run"
    storage = _storage(out)
    for family in ("ann", "cnn"):
        fake_retrained(out, family, 2, accuracy=0.98, trial=fake_study(storage, "moved", family, 5).best_trial.number,
                       machines=[xeon, epyc])  # seed 0 before the reboot, seed 1 after
    for machine in (xeon, epyc):
        update_manifest(out, "retrain", {"seeds": 2}, {**command_line(["run"]), "machine": machine})
    code, html = _report(out, "moved")
    assert code == 0
    assert ("Keras latency of the retrained models, measured on 2 different machines (Intel Xeon, 2 cores; AMD EPYC, 4 cores), "
            "so these times do not compare with each other.") in html
    assert "<th>machines</th><td>Intel Xeon, 2 cores; AMD EPYC, 4 cores</td>" in html
    assert "bakeoff run  (on Intel Xeon, host h1)" in html and "bakeoff run  (on AMD EPYC, host h2)" in html


def test_a_run_on_one_machine_names_it_once(tmp_path):
    out = tmp_path / "run"
    storage = _storage(out)
    for family in ("ann", "cnn"):
        fake_retrained(out, family, 2, accuracy=0.98, trial=fake_study(storage, "one", family, 5).best_trial.number)
    code, html = _report(out, "one")
    assert code == 0
    assert "Keras latency of the retrained models, measured on Fake CPU, 2 cores." in html
    assert "<th>machine</th><td>not recorded</td>" in html  # no command recorded in this run directory's manifest
