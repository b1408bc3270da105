"""The command line in-process through main(argv), and start-up without TensorFlow."""

import subprocess
import sys

import pytest

from bakeoff.search.app.main import main


def _imports_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('MODULES', ' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    return set(result.stdout.rsplit("MODULES ", 1)[-1].split())  # after the marker: not words of the help text


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["search", "--help"], ["run", "--help"], ["report", "--help"], ["spaces", "show", "cnn"]],
)
def test_help_and_spaces_import_no_backend(argv):
    modules = _imports_after(f"from bakeoff.search.app.main import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass")
    assert "bakeoff.search.app.cli" in modules  # the probe ran
    assert not {"tensorflow", "keras", "jax", "torch"} & modules


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


SEARCH_ARGV = ["search", "--family", "cnn", "--trials", "7", "--timeout", "90m", "--epochs", "4", "--data", "digits", "--subset", "900",
               "--val-fraction", "0.2", "--seed", "3", "--space", "my space.toml", "--engine", "optuna", "--sampler", "random",
               "--pruner", "hyperband", "--no-starts", "--workers", "2", "--backend", "jax", "--study", "night run",
               "--out", "/tmp/x y", "--storage", "sqlite:////tmp/x y/study.db"]


def test_a_worker_command_line_parses_back_to_the_same_options():
    from bakeoff.search.app.cli import build_parser, command_options, to_argv

    args = build_parser().parse_args(SEARCH_ARGV)
    again = build_parser().parse_args(to_argv("search", args))
    assert vars(again) == vars(args)
    assert set(command_options("search")) == {k for k, v in vars(args).items() if k != "command"}  # every option was set above
    defaults = build_parser().parse_args(["search"])
    assert vars(build_parser().parse_args(to_argv("search", defaults))) == vars(defaults)


def test_options_of_another_command_are_not_written_into_a_worker_command_line():
    from bakeoff.search.app.cli import build_parser, to_argv

    args = build_parser().parse_args(["run", "--seeds", "5", "--analyses", "full", "--no-export", "--trials", "2"])
    argv = to_argv("search", args)
    assert argv[:1] == ["search"] and "--trials" in argv and not {"--seeds", "--analyses", "--no-export", "--export"} & set(argv)
