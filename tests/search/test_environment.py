"""Settings by environment variable: the default when unset, the value when good (bad ones: tests/test_bad_input.py)."""

from bakeoff.search.environment import Number, Switch

RATE = Number("BAKEOFF_TEST_RATE", 1024, least=1, whole=False)
PARTS = Number("BAKEOFF_TEST_PARTS", 16, least=0)
MODE = Switch("BAKEOFF_TEST_MODE", ("0", "1"))


def test_unset_settings_give_their_defaults(monkeypatch):
    for name in ("BAKEOFF_TEST_RATE", "BAKEOFF_TEST_PARTS", "BAKEOFF_TEST_MODE"):
        monkeypatch.delenv(name, raising=False)
    assert (RATE.value(), PARTS.value(), MODE.value()) == (1024, 16, None)


def test_set_settings_give_their_values_at_the_least_too(monkeypatch):
    monkeypatch.setenv("BAKEOFF_TEST_RATE", "512.5")
    monkeypatch.setenv("BAKEOFF_TEST_PARTS", "0")
    monkeypatch.setenv("BAKEOFF_TEST_MODE", "1")
    assert (RATE.value(), PARTS.value(), MODE.value()) == (512.5, 0, "1")
    assert isinstance(PARTS.value(), int)
