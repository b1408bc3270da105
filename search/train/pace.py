"""A trial's pace: project its time from its batches and epochs, and fit its epochs into its time cap.

A trial that cannot train all of ``--epochs`` within its cap trains the epochs that fit instead of being
killed (its learning-rate schedule is laid over those epochs), so every budget gives complete trials. Only a
trial whose first epoch alone cannot fit is cut as too slow.

Until two epochs have ended, the pace is measured within an epoch, between polls after the first (which
includes tracing and compiling); validation is timed from its second pass on (the first compiles too) and
estimated at a third of a training step per batch until then; the one-off costs still to come in the first
epoch (compiling validation, tracing the epoch's shorter last call) are estimated at half the training
compile. Once two epochs have ended, an epoch costs what whole epochs cost, boundaries and all. Projecting from
whole-epoch times from the start instead counted the one-off compiling once per remaining epoch, about 4x too
high for a small dense net. Pure arithmetic on clock readings: tested with made-up clocks, independent of the
machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import fmean

#: Seconds of batches (or half an epoch, if sooner) measured before the first projection.
PACE_SECONDS = 3.0
#: A validation batch costs about a third of a training step (forward pass only, no augmentation).
VAL_STEP_SHARE = 1 / 3
#: The first epoch's one-off costs after its first poll, as a share of the training compile before that poll
#: (measured on full MNIST: about 1.4x for the XLA-compiled seed ANN, 0.3x for the seed CNN).
ONE_OFF_SHARE = 0.5
#: Epochs during which the epochs that fit are revised up as well as down: their estimates rest on the first
#: epoch's pace, which a busy machine or a slow start can make too pessimistic. Later they only go down, since
#: lengthening a cosine schedule late would raise the learning rate again (a constant rate is revised throughout).
REVISE_EPOCHS = 3
#: Safety net: a trial still running at this multiple of its cap is cut whatever the projection said.
HARD_CAP = 2.0


def over(value: float, limit: float) -> tuple[str, str]:
    """``value`` and ``limit`` in seconds with the fewest decimals (up to 2) that show the first is the larger:
    "about 15s, over the 15s cap" reads as a contradiction."""
    for places in range(3):
        shown = f"{value:.{places}f}", f"{limit:.{places}f}"
        if float(shown[0]) > float(shown[1]):
            break
    return shown


@dataclass(frozen=True)
class Estimate:
    """What one projection knew: seconds elapsed, steps done, and the costs still to come."""

    elapsed: float
    done: int
    step: float  # seconds per training step
    val: float  # seconds for the current epoch's validation
    per_epoch: float  # seconds per whole later epoch
    one_off: float  # one-off costs still to come

    def end(self, epochs: int, steps_per_epoch: int) -> float:
        """Seconds from the fit's start to the end of ``epochs`` epochs."""
        epoch = max(0, self.done - 1) // steps_per_epoch
        this_epoch = (steps_per_epoch * (epoch + 1) - self.done) * self.step + self.val + self.one_off
        return self.elapsed + this_epoch + max(0, epochs - epoch - 1) * self.per_epoch


@dataclass
class Pace:
    cap: float  # seconds the fit may take
    epochs: int  # epochs planned
    steps_per_epoch: int
    val_steps: int  # validation batches per epoch
    started: float  # clock reading when the fit began
    revise_epochs: int = REVISE_EPOCHS  # epochs during which fit_epochs may go up again
    fit_epochs: int = field(init=False)  # epochs the trial will train: ``epochs`` or fewer, to fit the cap
    step_seconds: float | None = None
    compile_seconds: float = 0.0  # the first poll's wait beyond its steps: tracing and compiling
    val_seconds: list[float] = field(default_factory=list)
    val_ends: list[float] = field(default_factory=list)  # clock readings: an epoch ends with its validation
    first: Estimate | None = None  # the first projection
    _mark: tuple[float, int, int] | None = None
    _stride: int | None = None  # steps between polls (steps per execution, or a whole epoch on small data)
    _first_poll: float | None = None

    def __post_init__(self) -> None:
        self.fit_epochs = self.epochs

    def validated(self, seconds: float, now: float) -> None:
        """One validation pass took ``seconds`` and ended at clock reading ``now``."""
        self.val_seconds.append(seconds)
        self.val_ends.append(now)

    def val_estimate(self) -> float:
        if len(self.val_seconds) >= 2:
            return min(self.val_seconds[1:])
        return self.val_steps * (self.step_seconds or 0.0) * VAL_STEP_SHARE

    def epoch_seconds(self) -> float:
        """A later epoch's cost: the mean whole epoch after the first, once there is one, else its parts."""
        walls = [b - a for a, b in zip(self.val_ends, self.val_ends[1:])]
        if walls:
            return fmean(walls)
        return self.steps_per_epoch * (self.step_seconds or 0.0) + self.val_estimate()

    def estimate(self, now: float, done: int) -> Estimate:
        one_off = 0.0 if self.val_seconds else ONE_OFF_SHARE * self.compile_seconds
        return Estimate(now - self.started, done, self.step_seconds or 0.0, self.val_estimate(), self.epoch_seconds(), one_off)

    def poll(self, now: float, done: int) -> str | None:
        """Between batches, ``done`` steps in: may lower ``fit_epochs``; returns a reason to cut the trial, if any."""
        elapsed = now - self.started
        if elapsed > HARD_CAP * self.cap:
            return f"too slow: still running after {elapsed:.0f}s, twice its {self.cap:.0f}s cap"
        estimate = self._project(now, done)
        if estimate is None:
            return None
        epoch = max(0, done - 1) // self.steps_per_epoch
        if epoch < self.revise_epochs:  # early estimates are revised both ways: a slow start must not stick
            self.fit_epochs = self.epochs
        if estimate.end(self.fit_epochs, self.steps_per_epoch) <= self.cap:
            return None
        this_epoch = estimate.end(epoch + 1, self.steps_per_epoch) - elapsed
        left = self.cap - elapsed
        if epoch == 0 and this_epoch > left:
            return "too slow: one epoch would take {}s, over the {}s cap per trial".format(*over(elapsed + this_epoch, self.cap))
        fits = epoch + 1 + max(0, int((left - this_epoch) // estimate.per_epoch))
        self.fit_epochs = min(self.fit_epochs, fits)
        return None

    def whole_end(self, now: float, done: int) -> float | None:
        """Seconds from the fit's start to the end of all ``epochs``, for a run that trains all of them or is of no
        use (a ladder's rung); None while there is too little evidence."""
        estimate = self._project(now, done)
        return None if estimate is None else estimate.end(self.epochs, self.steps_per_epoch)

    def _project(self, now: float, done: int) -> Estimate | None:
        """This poll's estimate, ``done`` steps in; None while there is too little evidence."""
        epoch = max(0, done - 1) // self.steps_per_epoch
        if self._stride is None:
            self._stride, self._first_poll = done, now - self.started
        if not self._measure(now, done, epoch):
            return None
        if not self.compile_seconds and self._stride < self.steps_per_epoch:
            self.compile_seconds = max(0.0, self._first_poll - self._stride * self.step_seconds)
        estimate = self.estimate(now, done)
        self.first = self.first or estimate
        return estimate

    def _measure(self, now: float, done: int, epoch: int) -> bool:
        """Update ``step_seconds`` from this poll; False while there is too little evidence."""
        if self._stride >= self.steps_per_epoch:
            # One poll per epoch (small data): time whole epochs from the end of the second on, less the
            # validation between them (the first epoch and the first validation include compiling).
            mark, self._mark = self._mark, (now, done, epoch)
            if epoch < 2 or mark is None or mark[2] != epoch - 1 or len(self.val_seconds) < 2:
                return False
            self.step_seconds = max(0.0, now - mark[0] - self.val_seconds[-1]) / (done - mark[1])
            return True
        if self._mark is None or self._mark[2] != epoch:
            self._mark = (now, done, epoch)  # the pace is measured within one epoch, away from its boundaries
            return False
        since, then, _ = self._mark
        if done <= then:
            return False
        if epoch == 0 and now - since < PACE_SECONDS and done - then < self.steps_per_epoch // 2:
            return False  # too little evidence yet
        self.step_seconds = (now - since) / (done - then)
        return True

    def projected_end(self, now: float, done: int) -> float:
        """Seconds from the fit's start to the end of ``fit_epochs``, at the current pace."""
        return self.estimate(now, done).end(self.fit_epochs, self.steps_per_epoch)

    def first_projection(self) -> float | None:
        """What the first projection predicted for the epochs the trial finally trained (None if it made none)."""
        return None if self.first is None else self.first.end(self.fit_epochs, self.steps_per_epoch)
