"""The pace of a trial, on made-up clocks: projections and fitted epochs do not depend on this machine's speed."""

import pytest

from bakeoff.search.train.pace import HARD_CAP, ONE_OFF_SHARE, PACE_SECONDS, Pace


def _pace(cap=45.0, epochs=15, steps_per_epoch=100, val_steps=10):
    return Pace(cap, epochs, steps_per_epoch, val_steps, started=0.0)


def test_the_first_poll_only_starts_the_pace_so_compiling_is_not_projected():
    pace = _pace(cap=1000.0)
    assert pace.poll(now=5.0, done=32) is None and pace.step_seconds is None  # 5 s of tracing and XLA compiling
    assert pace.poll(now=5.0 + 64 * 0.01, done=96) is None  # over half an epoch of evidence: 0.01 s a step
    assert pace.step_seconds == pytest.approx(0.01)
    # 15 epochs of 100 steps at 0.01 s, plus validation at a third of a step per batch: 5 s of compiling counted
    # once, and the first epoch's one-off costs still to come (compiling validation) at a share of it
    compiling = 5.0 - 32 * 0.01
    expected = 5.64 + (1500 - 96) * 0.01 + 15 * 10 * 0.01 / 3 + ONE_OFF_SHARE * compiling
    assert pace.projected_end(5.64, 96) == pytest.approx(expected)
    assert pace.fit_epochs == 15


def test_a_trial_whose_epochs_do_not_fit_trains_the_epochs_that_do():
    pace = _pace(cap=45.0)
    pace.poll(now=3.2, done=32)  # 3.2 s for 32 steps at 0.1 s: nothing left to compile
    assert pace.poll(now=3.2 + 32 * 0.1, done=64) is None  # 10 s an epoch: 15 epochs need 150 s
    # 38.6 s left after this epoch's remaining 3.6 s (+0.33 s validation); 10.33 s an epoch: 3 more fit
    assert pace.fit_epochs == 4
    assert pace.projected_end(6.4, 64) <= 45.0


def test_a_trial_that_cannot_fit_one_epoch_is_too_slow():
    pace = _pace(cap=20.0)
    pace.poll(now=2.0, done=32)
    reason = pace.poll(now=2.0 + 32 * 1.0, done=64)  # 1 s a step: 34 s gone and 36 steps + validation to go
    assert reason is not None and reason.startswith("too slow: one epoch would take 73s, over the 20s cap per trial")


def test_a_rung_is_projected_whole_never_shortened_to_what_fits():
    pace = _pace(cap=20.0, epochs=2)  # a ladder's rung of 2 epochs: trained whole or not at all
    assert pace.whole_end(now=2.0, done=32) is None  # the first poll only starts the pace
    end = pace.whole_end(now=2.0 + 32 * 1.0, done=64)  # 1 s a step, nothing left to compile
    assert end == pytest.approx(34.0 + 136 * 1.0 + 2 * 10 / 3)  # 136 steps and two validations to go
    assert end > 20.0 and pace.fit_epochs == 2  # over its cap, and nothing was fitted down


def test_after_two_epochs_an_epoch_costs_what_whole_epochs_cost():
    pace = _pace(cap=1000.0)  # 100 steps an epoch at 0.01 s: 1 s of steps, 0.03 s of validation by the parts
    pace.poll(now=1.0, done=32)
    pace.poll(now=1.64, done=96)
    pace.validated(0.5, now=2.2)  # epoch 1 ends (compiling validation)
    pace.validated(0.1, now=3.8)  # epoch 2 ends 1.6 s later: its boundary and a slow start cost 0.5 s more
    pace.poll(now=3.84, done=204)
    pace.poll(now=4.80, done=300)
    pace.validated(0.1, now=5.4)  # epoch 3: 1.6 s again
    assert pace.epoch_seconds() == pytest.approx(1.6)
    # during epoch 4: its remaining 96 steps at 0.01 s and a validation, then 11 epochs at 1.6 s
    assert pace.poll(now=5.44, done=304) is None
    assert pace.projected_end(5.44, 304) == pytest.approx(5.44 + 0.96 + 0.1 + 11 * 1.6)


def test_the_pace_is_not_judged_on_too_few_batches():
    pace = _pace(cap=1.0)
    pace.poll(now=0.5, done=32)
    assert pace.poll(now=0.6, done=40) is None and pace.step_seconds is None  # 8 steps and 0.1 s: no evidence yet
    assert pace.poll(now=0.6 + PACE_SECONDS, done=48) is not None  # PACE_SECONDS of batches: judged


def test_validation_is_timed_from_its_second_pass():
    pace = _pace(cap=1000.0)
    pace.validated(6.0, now=10.0)  # the first pass compiles
    assert pace.val_estimate() == 0.0  # no step time yet, and the first pass does not count
    pace.validated(0.4, now=20.0)
    pace.validated(0.5, now=30.0)
    assert pace.val_estimate() == 0.4


def test_the_pace_is_measured_within_an_epoch():
    pace = _pace(cap=1000.0)
    pace.poll(now=1.0, done=32)
    pace.poll(now=2.0, done=96)
    pace.validated(5.0, now=7.0)  # a slow validation between epochs is not part of the step time
    assert pace.poll(now=8.0, done=132) is None and pace.step_seconds == pytest.approx(1.0 / 64)
    pace.poll(now=8.5, done=164)
    assert pace.step_seconds == pytest.approx(0.5 / 32)


def test_the_hard_cap_stops_whatever_was_projected():
    pace = _pace(cap=10.0)
    assert pace.poll(now=HARD_CAP * 10.0 + 0.1, done=32).startswith("too slow: still running after 20s")


def test_the_first_projection_is_kept_for_the_epochs_finally_trained():
    pace = _pace(cap=45.0)
    pace.poll(now=3.2, done=32)
    pace.poll(now=6.4, done=64)
    assert pace.fit_epochs == 4
    # made at 6.4 s, 64 steps in: 336 more steps at 0.1 s and 4 validations at 0.333 s
    assert pace.first_projection() == pytest.approx(6.4 + 336 * 0.1 + 4 * 10 * 0.1 / 3)


def test_with_one_poll_per_epoch_whole_epochs_are_timed_from_the_second_on():
    pace = _pace(cap=10.0, epochs=500, steps_per_epoch=17, val_steps=2)  # 540 images in batches of 32
    assert pace.poll(now=4.0, done=17) is None  # epoch 1: tracing and compiling
    pace.validated(1.0, now=5.0)  # the first validation compiles too
    assert pace.poll(now=5.3, done=34) is None and pace.step_seconds is None
    pace.validated(0.1, now=5.4)
    assert pace.poll(now=5.7, done=51) is None  # 0.4 s an epoch, 0.1 s of it validation
    assert pace.step_seconds == pytest.approx(0.3 / 17)
    # 4.3 s left after this epoch's validation: 10 more epochs of 0.4 s fit
    assert pace.fit_epochs == 3 + 10


def test_a_slow_first_epoch_does_not_stick():
    pace = _pace(cap=45.0)
    pace.poll(now=3.2, done=32)
    pace.poll(now=6.4, done=64)  # 0.1 s a step in epoch 1 (a busy machine): 4 epochs fit
    assert pace.fit_epochs == 4
    pace.validated(0.5, now=10.5)
    pace.poll(now=10.6, done=132)
    assert pace.poll(now=10.92, done=164) is None  # 0.01 s a step in epoch 2: all 15 epochs fit after all
    assert pace.fit_epochs == 15


def test_after_the_first_epochs_only_a_constant_rate_is_revised_up():
    def run(revise_epochs):
        pace = Pace(45.0, 15, 100, 10, started=0.0, revise_epochs=revise_epochs)
        pace.poll(now=3.2, done=32)
        pace.poll(now=6.4, done=64)  # 0.1 s a step: 4 epochs fit
        for epoch, end in enumerate([10.5, 14.6, 18.7, 22.8]):  # four epochs of about 4 s
            pace.validated(0.1, now=end)
        pace.poll(now=22.9, done=432)
        pace.poll(now=23.22, done=464)  # epoch 5 at 0.01 s a step: another 10 epochs would fit
        return pace.fit_epochs

    assert run(revise_epochs=3) == 4  # a cosine schedule laid over 4 epochs is not stretched after the fact
    assert run(revise_epochs=15) > 4  # a constant rate trains what fits


def test_a_time_over_its_limit_is_shown_with_the_decimals_that_show_it_over():
    from bakeoff.search.train.pace import over

    assert over(73.2, 20.0) == ("73", "20")
    assert over(15.4, 14.9) == ("15.4", "14.9")  # "about 15s, over the 15s cap" would contradict itself
    assert over(10.004, 10.0) == ("10.00", "10.00")  # closer than the last decimal: shown at two, never more
