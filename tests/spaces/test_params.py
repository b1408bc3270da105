import json

import pytest

from bakeoff.spaces import Bool, Choice, Fixed, Float, Int, SpaceError, param_from_config


@pytest.mark.parametrize(
    "param",
    [
        Int("units", 32, 2048, log=True, repeat="layers"),
        Int("blocks", 1, 4, step=1),
        Float("dropout", 0.0, 0.5, when={"augment": True}),
        Float("lr", 1e-4, 1e-1, log=True),
        Choice("activation", values=("relu", "gelu")),
        Bool("batch_norm"),
        Fixed("batch_size", value=64),
    ],
)
def test_round_trip_through_json(param):
    config = json.loads(json.dumps(param.get_config()))
    assert param_from_config(config) == param


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Int("units", 10, 5), "above high"),
        (lambda: Float("lr", 0.0, 1.0, log=True), "log scale needs low > 0"),
        (lambda: Int("units", 1.5, 4), "whole numbers"),
        (lambda: Float("x", 0.0, float("inf")), "finite"),
        (lambda: Choice("act", values=()), "choices are empty"),
        (lambda: Choice("act", values=("a", "a")), "repeat a value"),
        (lambda: Int("Bad-Name", 1, 2), "lower-case"),
        (lambda: Float("x", 0.0, 1.0, when={"y": []}), "lists no values"),
        (lambda: param_from_config({"type": "nope", "name": "x"}), "unknown parameter type"),
        (lambda: param_from_config({"type": "int", "name": "x", "low": 1, "high": 2, "bogus": 1}), "bogus"),
    ],
)
def test_invalid_parameters_are_refused(make, message):
    with pytest.raises(SpaceError, match=message):
        make()


def test_contains_respects_type_and_range():
    assert Int("n", 1, 4).contains(3) and not Int("n", 1, 4).contains(5) and not Int("n", 1, 4).contains(True)
    assert Float("x", 0.0, 0.5).contains(0.25) and not Float("x", 0.0, 0.5).contains(0.6)
    assert Choice("c", values=(32, 64)).contains(64) and not Choice("c", values=(32, 64)).contains(48)
    assert Bool("b").contains(False) and not Bool("b").contains(0)
