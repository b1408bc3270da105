"""The replay benchmark's accounting on a record made here: budgets kept, choices judged on the held-out half."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from record_curves import sampled_configs  # noqa: E402
from replay import STRATEGIES, Curve, outcome, replay, time_to  # noqa: E402


def _record(family: str, count: int = 24, depth: int = 16, epoch_seconds: float = 10.0) -> list[Curve]:
    """Configurations whose selection half rises with their index and whose held-out half is 1 point lower."""
    curves = []
    for index, (label, config) in enumerate(sampled_configs(family, count, seed=0)):
        top = 0.90 + 0.004 * index
        trunk = [[top - 0.2 / e, top - 0.2 / e - 0.01] for e in range(1, depth + 1)]
        decayed = {r: [top - 0.1 / r, top - 0.1 / r - 0.01] for r in (1, 2, 4, 8, 16) if r <= depth}
        curves.append(Curve(index, label, config, trunk, [epoch_seconds] * depth, decayed, {r: 1.0 for r in decayed},
                            build_seconds=0.5, failed=False, diverged=False))
    return curves


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_keeps_its_budget_and_ships_a_recorded_configuration(strategy, seed):
    curves = _record("ann")
    run = replay(curves, "ann", strategy, budget=600.0, seed=seed)
    assert 0 < run.spent <= 600.0 + 1e-9
    assert run.trials >= 3
    moments = [moment for moment, _, _ in run.changes]
    assert moments == sorted(moments) and moments[-1] <= 600.0
    held_out = {pair[1 - seed % 2] for c in curves for pair in c.decayed.values()}  # odd repetitions select on the second half
    assert run.at(1.0) in held_out  # judged on the held-out half of a configuration the record holds


def test_odd_repetitions_select_on_the_second_half_and_are_judged_on_the_first():
    curves = _record("ann")
    run = replay(curves, "ann", "random", budget=2000.0, seed=1)
    chosen = next(c for c in curves if c.index == run.incumbent[1])
    assert run.incumbent[0] == max(chosen.trunk[e][1] for e in range(15))
    assert run.at(1.0) == chosen.decayed[16][0]


def test_the_ladder_is_judged_at_the_rung_it_reached_the_epochs_its_retraining_trains():
    curves = _record("ann")
    run = replay(curves, "ann", "ladder-2", budget=300.0, seed=0)
    chosen = next(c for c in curves if c.index == run.incumbent[1])
    reached = next(r for r, pair in chosen.decayed.items() if pair[0] == run.incumbent[0])
    assert reached < 16  # a short budget: not the deepest rung recorded for it
    assert run.at(1.0) == chosen.decayed[reached][1]


def test_the_choice_is_judged_on_the_held_out_half_not_the_half_it_was_chosen_on():
    curves = _record("ann")
    run = replay(curves, "ann", "random", budget=2000.0, seed=0)
    chosen = next(c for c in curves if c.index == run.incumbent[1])
    assert run.incumbent[0] == max(chosen.epoch(e) for e in range(1, 16))  # selected on the first half
    assert run.at(1.0) == chosen.quality == chosen.decayed[16][1]  # judged on the second, decayed, deepest rung


def test_epochs_the_record_does_not_hold_are_counted_as_holes_not_invented():
    shallow = _record("ann", depth=4)
    run = replay(shallow, "ann", "random", budget=2000.0, seed=0)
    assert run.holes == run.trials  # every 15-epoch trial wanted more than 4 recorded epochs
    chosen = next(c for c in shallow if c.index == run.incumbent[1])
    assert run.at(1.0) == chosen.decayed[4][1]  # the deepest rung recorded for it, nothing extrapolated


def test_time_to_target_is_censored_when_the_target_is_not_reached():
    run = replay(_record("ann"), "ann", "random", budget=300.0, seed=0)
    assert time_to(run, 1.01) is None
    assert time_to(run, 0.0) == run.changes[0][0]


def test_on_the_ladder_a_sampled_configuration_too_slow_for_its_first_rung_is_charged_seconds_not_the_rung():
    curves = _record("ann", epoch_seconds=200.0)
    for start in curves[:2]:
        start.epoch_seconds = [10.0] * 16
    # 1,600 s: a first rung may take 100 s (1/16), under the 400 s cap, so only the share stops the 200 s epochs
    limited = replay(curves, "ann", "ladder-2", budget=1600.0, seed=0)
    unlimited = replay(curves, "ann", "ladder-2-any", budget=1600.0, seed=0)
    assert limited.spent <= 1600.0 and unlimited.spent <= 1600.0
    assert all(is_start for _, _, is_start in limited.changes)  # no sampled configuration was ever scored
    assert limited.trials > unlimited.trials + 5  # stopped within seconds, so many more configurations were looked at


def test_the_table_marks_the_strategy_the_engine_runs_by_default():
    from replay import DEFAULT_STRATEGY, table

    from bakeoff.search.engine.strategy import DEFAULT_PRUNER

    assert DEFAULT_STRATEGY == ("ladder-2" if DEFAULT_PRUNER == "ladder" else DEFAULT_PRUNER)
    curves = _record("ann")
    found = {}
    for strategy in ("median", "ladder-2"):
        found[strategy] = {"reps": [outcome(replay(curves, "ann", strategy, budget=300.0, seed=0), 0.9)], "median_time_to_target": None}
    rows = table({"ann": found}, "median", {"ann": 0.9}).splitlines()[2:]
    marked = [row for row in rows if "(the default)" in row]
    assert len(marked) == 1 and f"**{DEFAULT_STRATEGY}**" in marked[0]


@pytest.mark.parametrize("strategy", ["median", "random", "hyperband", "ladder-2"])
def test_a_strategy_that_tried_every_recorded_configuration_with_budget_left_says_the_record_ran_out(strategy):
    small = replay(_record("ann", count=6), "ann", strategy, budget=100_000.0, seed=0)
    assert small.ran_out and small.spent < 100_000.0
    roomy = replay(_record("ann"), "ann", strategy, budget=200.0, seed=0)
    assert not roomy.ran_out and roomy.spent == pytest.approx(200.0)


def test_a_goal_is_not_judged_on_a_record_a_strategy_ran_out_of():
    from replay import DEFAULT_STRATEGY, goals

    def found(strategy: str, budget: float, count: int) -> dict:
        reps = [outcome(replay(_record("ann", count=count), "ann", strategy, budget, seed=seed), 0.9) for seed in range(4)]
        return {"reps": reps, "configurations": count, "median_time_to_target": None}

    mine = found(DEFAULT_STRATEGY, 200.0, 24)
    roomy = goals({"ann": {DEFAULT_STRATEGY: mine, "random": found("random", 200.0, 24)}}, {"ann": 0.9}, 200.0)
    assert "ahead of random at 50 %" in roomy and "ran out of the record" not in roomy
    short = goals({"ann": {DEFAULT_STRATEGY: mine, "random": found("random", 100_000.0, 6)}}, {"ann": 0.9}, 200.0)
    rows = [row for row in short.splitlines() if "ahead of random" in row]
    assert rows and all(row.endswith("| not shown (a strategy ran out of the record) |") for row in rows)


def test_a_real_search_is_checked_against_the_strategy_its_commit_ran():
    from replay import real_strategy

    assert real_strategy({"pruner": "default", "commit": "HEAD"}) == "median"  # recorded before the ladder was the default
    assert real_strategy({"pruner": "median", "commit": "HEAD"}) == "median"
    assert real_strategy({"pruner": "ladder", "commit": "HEAD"}) == "ladder-2"  # this commit's ladder and its rule for the starts
    assert real_strategy({"pruner": "ladder", "commit": "57e3fb4"}) == "ladder-2-chase"  # the starts chased each other, no STARTS_RULE yet
    assert real_strategy({"pruner": "ladder", "commit": "4ac93c7"}) == "ladder-2-chase"  # STARTS_RULE = "chase"
    assert real_strategy({"pruner": "ladder", "commit": "6e1404c"}) == "ladder-2-judged"  # the first real ladder searches
    assert real_strategy({"pruner": "ladder", "commit": "0" * 40}) is None  # no such commit: unknown, not guessed
    assert real_strategy({"pruner": "halving", "commit": "HEAD"}) is None  # not replayed
