import pytest

from bakeoff.search.durations import format_duration, format_epochs, parse_duration
from bakeoff.search.errors import UserError


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("45m", 2700), ("8h", 28800), ("1h30m", 5400), ("120", 120), ("1.5h", 5400)])
def test_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["8x", "", "h", "-5m", "0s", "5m3", "inf"])
def test_parse_refuses(text):
    with pytest.raises(UserError):
        parse_duration(text)


def test_format():
    assert format_duration(42) == "42s" and format_duration(425) == "7m05s" and format_duration(11520) == "3h12m"


def test_format_epochs_says_one_epoch_and_many_epochs():
    assert [format_epochs(n) for n in (1, 2, 16)] == ["1 epoch", "2 epochs", "16 epochs"]
