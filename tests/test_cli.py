"""The command line in-process through main(argv), and start-up without TensorFlow."""

import subprocess
import sys

import pytest

from bakeoff.search.cli import main


def _imports_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["search", "--help"], ["run", "--help"], ["report", "--help"], ["spaces", "show", "cnn"]],
)
def test_help_and_spaces_do_not_import_tensorflow(argv):
    modules = _imports_after(f"from bakeoff.search.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass")
    assert "bakeoff.search.cli" in modules  # the probe ran
    assert not {"tensorflow", "keras"} & modules


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("bakeoff ")


def test_spaces_show(capsys):
    assert main(["spaces", "show", "ann"]) == 0
    out = capsys.readouterr().out
    assert "hidden_layers" in out and "units" in out and "one per hidden_layers" in out
    assert main(["spaces", "show", "cnn", "--json"]) == 0
    assert '"family": "cnn"' in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["search", "--timeout", "8x"], "not understood"),
        (["search", "--trials", "0"], "must be at least 1"),
        (["search", "--family", "rnn"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        (["spaces", "show", "cnn", "--space", "/nonexistent.toml"], "does not exist"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and err[0].startswith("bakeoff: error:")
