"""--objective, --max-latency and --max-size: parsing, what a limit admits, and the front pruner's rule."""

import pytest

from bakeoff.search.engine.objectives import (
    FRONT_PEERS,
    Limits,
    Objectives,
    behind_cheaper_peers,
    limits_from,
    parse_latency,
    parse_objective,
    parse_size,
)
from bakeoff.search.errors import UserError


def test_objectives_parse_to_accuracy_then_one_cost():
    assert parse_objective("accuracy") == Objectives() and not Objectives().multi
    latency = parse_objective(" Accuracy, latency ")
    assert latency.names == ("accuracy", "latency") and latency.multi and latency.directions == ["maximize", "minimize"]
    assert parse_objective("accuracy,size").cost == "size"


@pytest.mark.parametrize("text", ["latency", "accuracy,speed", "accuracy,latency,size", "", "size,accuracy"])
def test_other_objectives_are_refused_with_the_choices(text):
    with pytest.raises(UserError, match="is not one of accuracy, accuracy,latency, accuracy,size"):
        parse_objective(text)


@pytest.mark.parametrize(("text", "ms"), [("0.1ms", 0.1), ("250us", 0.25), ("250 µs", 0.25), ("2s", 2000.0), ("1e-1ms", 0.1), (".5ms", 0.5)])
def test_latencies_parse_to_milliseconds(text, ms):
    assert parse_latency(text) == pytest.approx(ms)


@pytest.mark.parametrize(("text", "size"), [("1MB", 1e6), ("300kB", 3e5), ("2MiB", 2 * 1024**2), ("512 b", 512)])
def test_sizes_parse_to_bytes(text, size):
    assert parse_size(text) == pytest.approx(size)


@pytest.mark.parametrize(("parse", "text", "message"), [
    (parse_latency, "5", "is not understood"), (parse_latency, "fast", "is not understood"), (parse_latency, "3 parsecs", "is not understood"),
    (parse_latency, "0ms", "must be positive"), (parse_size, "1 MBps", "is not understood"), (parse_size, "-1MB", "is not understood"),
    (parse_size, "0kB", "must be positive"), (parse_size, "1e999MB", "must be positive"),
])
def test_bad_limits_are_one_line(parse, text, message):
    with pytest.raises(UserError, match=message):
        parse(text)


def test_a_limit_admits_what_meets_it_and_nothing_unmeasured():
    limits = limits_from("0.1ms", "1MB")
    assert limits.met({"latency_ms": 0.1, "int8_bytes": 1e6})  # at the limit: met
    assert not limits.met({"latency_ms": 0.1001, "int8_bytes": 10})
    assert not limits.met({"latency_ms": 0.01})  # size never measured: not known to meet it
    assert not limits.met(None)
    assert Limits().met(None) and not Limits()
    assert Limits.from_dict(limits.to_dict()) == limits


def test_a_limit_needs_its_cost_searched_for():
    limits_from("0.1ms", None).check_measured(parse_objective("accuracy,latency"), "this run")
    with pytest.raises(UserError, match="--max-latency needs each trial's latency measured, and this run searches accuracy:"):
        limits_from("0.1ms", None).check_measured(Objectives(), "this run")
    with pytest.raises(UserError, match="--max-size needs each trial's size measured, and study 'x' searches accuracy,latency"):
        limits_from(None, "1MB").check_measured(parse_objective("accuracy,latency"), "study 'x'")


def test_unmet_limits_say_what_the_closest_trial_costs():
    limits = limits_from("10us", None)
    assert limits.unmet([{"latency_ms": 0.05}, {"latency_ms": 0.02}]) == (
        "no complete trial meets --max-latency 10 µs (the fastest complete trial: 20 µs)")
    assert limits.unmet([{"latency_ms": 0.05}, {"latency_ms": 0.009}]) is None  # one meets it
    assert limits.unmet([]) is None and Limits().unmet([{"latency_ms": 1.0}]) is None


def test_the_front_pruner_compares_with_cheaper_complete_trials_at_the_same_epoch():
    peers = [(0.1, [0.90, 0.95]), (0.2, [0.92, 0.96]), (0.3, [0.94, 0.97]), (5.0, [0.99, 0.995])]
    assert behind_cheaper_peers(0.93, 1, 0.3, peers)  # below the median (0.96) of the three no dearer than it
    assert not behind_cheaper_peers(0.97, 1, 0.3, peers)  # at or above it
    assert not behind_cheaper_peers(0.50, 1, 0.25, peers)  # only two cheaper peers: not enough to judge
    assert not behind_cheaper_peers(0.50, 1, 0.05, peers)  # cheaper than every peer: nothing shows what it should reach
    assert not behind_cheaper_peers(0.50, 2, 9.0, peers)  # no peer has a third epoch
    assert FRONT_PEERS == 3
