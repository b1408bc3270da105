import optuna
import pytest

from bakeoff.spaces import BASELINES, DEFAULT_SPACES, FAMILIES, STARTS, Space, SpaceError, get_spaces, load_space_file


@pytest.mark.parametrize("family", FAMILIES)
def test_sampled_configurations_are_points_of_the_space(family):
    space = DEFAULT_SPACES[family]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(200):
        trial = study.ask()
        config = space.sample(trial)
        assert space.problems(config) == []
        assert set(trial.params) == set(space.to_trial_params(config))
        study.tell(trial, 0.5)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("start", ["seed notebook", "recipe"])
def test_the_starting_models_are_points_and_replay_through_enqueue(family, start):
    space = DEFAULT_SPACES[family]
    config = STARTS[family][start]
    assert space.problems(config) == []
    study = optuna.create_study()
    study.enqueue_trial(space.to_trial_params(config))
    assert space.sample(study.ask()) == config


def test_conditional_parameters_follow_their_conditions():
    space = DEFAULT_SPACES["ann"]
    config = space.sample(optuna.trial.FixedTrial({**space.to_trial_params(BASELINES["ann"]), "optimizer": "sgd", "sgd_learning_rate": 0.05, "momentum": 0.9}))
    assert config["momentum"] == 0.9 and config["sgd_learning_rate"] == 0.05
    assert "weight_decay" not in config and "learning_rate" not in config  # Adam's rate range is not SGD's
    assert "translate" not in config  # augmentation off: its magnitudes are inactive


def test_problems_name_what_is_wrong():
    space = DEFAULT_SPACES["cnn"]
    bad = {**BASELINES["cnn"], "filters": [28], "pooling": "median", "momentum": 0.9, "extra": 1}
    problems = " | ".join(space.problems(bad))
    for fragment in ("filters needs 2 values", "pooling='median'", "momentum is set but inactive", "extra is not a parameter"):
        assert fragment in problems


def test_space_round_trips_and_prints():
    for space in DEFAULT_SPACES.values():
        assert Space.from_config(space.get_config()) == space
        assert "learning_rate" in space.describe()


def test_overrides_from_a_toml_file(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        '[cnn]\nconv_blocks = {low = 1, high = 2}\nactivation = ["relu"]\nbatch_size = 128\n'
        '[ann]\nunits = {low = 64, high = 256, log = true}\n'
    )
    spaces = get_spaces(path)
    assert spaces["cnn"]["conv_blocks"].high == 2
    assert spaces["cnn"]["activation"].values == ("relu",)
    assert spaces["cnn"]["batch_size"].describe() == "fixed 128"
    assert spaces["ann"]["units"].low == 64 and spaces["ann"]["units"].repeat == "hidden_layers"
    config = spaces["cnn"].sample(optuna.create_study().ask())
    assert config["batch_size"] == 128 and 1 <= config["conv_blocks"] <= 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("[cnn\nconv_blocks = 1", "not valid TOML"),
        ("[cnn]\nwidth = 3", "unknown parameter 'width'"),
        ("[cnn]\nconv_blocks = {low = 3, high = 1}", "low 3 is above high 1"),
        ("[ann]\nactivation = []", "choices are empty"),
        ("[rnn]\nlayers = 2", "unknown section"),
        ("[ann]\nunits = {lo = 3}", "unknown key 'lo'"),
        ("[ann]\nlearning_rate = {low = 0.0}", "log scale needs low > 0"),
        ("[ann]\nunits = [32, 64]", "needs a choice parameter"),
        ("ann = 3", "must be a table"),
    ],
)
def test_bad_space_files_give_one_clear_error(tmp_path, text, message):
    path = tmp_path / "space.toml"
    path.write_text(text)
    with pytest.raises(SpaceError, match=message) as info:
        get_spaces(path)
    assert "\n" not in str(info.value)


def test_missing_space_file(tmp_path):
    with pytest.raises(SpaceError, match="does not exist"):
        load_space_file(tmp_path / "nope.toml")
