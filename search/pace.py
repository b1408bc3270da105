"""A trial's pace: project its time from its batches, and fit its epochs into its time cap.

A trial that cannot train all of ``--epochs`` within its cap trains the epochs that fit instead of being
killed (its learning-rate schedule is laid over those epochs), so every budget gives complete trials. Only a
trial whose first epoch alone cannot fit is cut as too slow.

The pace is measured within an epoch, between polls after the first (which includes tracing and compiling);
validation is timed separately, from its second pass on (the first one compiles too), and estimated at a third
of a training step per batch until then. Projecting from whole-epoch times instead counted the one-off
compiling once per remaining epoch, about 4x too high for a small dense net. Pure arithmetic on clock readings:
tested with made-up clocks, independent of the machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Seconds of batches (or half an epoch, if sooner) measured before the first projection.
PACE_SECONDS = 3.0
#: A validation batch costs about a third of a training step (forward pass only, no augmentation).
VAL_STEP_SHARE = 1 / 3
#: Safety net: a trial still running at this multiple of its cap is cut whatever the projection said.
HARD_CAP = 2.0


@dataclass
class Pace:
    cap: float  # seconds the fit may take
    epochs: int  # epochs planned
    steps_per_epoch: int
    val_steps: int  # validation batches per epoch
    started: float  # clock reading when the fit began
    fit_epochs: int = field(init=False)  # epochs the trial will train: ``epochs`` or fewer, to fit the cap
    step_seconds: float | None = None
    val_seconds: list[float] = field(default_factory=list)
    first: tuple[float, int, float, int] | None = None  # at the first projection: elapsed, steps done, step, validations
    _mark: tuple[float, int, int] | None = None
    _stride: int | None = None  # steps between polls (steps per execution, or a whole epoch on small data)

    def __post_init__(self) -> None:
        self.fit_epochs = self.epochs

    def validated(self, seconds: float) -> None:
        """One validation pass took ``seconds``."""
        self.val_seconds.append(seconds)

    def val_estimate(self) -> float:
        if len(self.val_seconds) >= 2:
            return min(self.val_seconds[1:])
        return self.val_steps * (self.step_seconds or 0.0) * VAL_STEP_SHARE

    def poll(self, now: float, done: int) -> str | None:
        """Between batches, ``done`` steps in: may lower ``fit_epochs``; returns a reason to cut the trial, if any."""
        elapsed = now - self.started
        if elapsed > HARD_CAP * self.cap:
            return f"too slow: still running after {elapsed:.0f}s, twice its {self.cap:.0f}s cap"
        epoch = max(0, done - 1) // self.steps_per_epoch
        self._stride = self._stride or done
        if not self._measure(now, done, epoch):
            return None
        if self.first is None:
            self.first = (elapsed, done, self.step_seconds, len(self.val_seconds))
        if self.projected_end(now, done) <= self.cap:
            return None
        left = self.cap - elapsed
        val = self.val_estimate()
        this_epoch = (self.steps_per_epoch * (epoch + 1) - done) * self.step_seconds + val
        if epoch == 0 and this_epoch > left:
            return (f"too slow: one epoch would take {elapsed + this_epoch:.0f}s, over the {self.cap:.0f}s cap per trial")
        per_epoch = self.steps_per_epoch * self.step_seconds + val
        fits = epoch + 1 + max(0, int((left - this_epoch) // per_epoch))
        self.fit_epochs = min(self.fit_epochs, fits)
        return None

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
        steps_left = self.steps_per_epoch * self.fit_epochs - done
        validations_left = self.fit_epochs - len(self.val_seconds)
        return (now - self.started) + steps_left * (self.step_seconds or 0.0) + validations_left * self.val_estimate()

    def first_projection(self) -> float | None:
        """What the first projection predicted for the epochs the trial finally trained (None if it made none)."""
        if self.first is None:
            return None
        elapsed, done, step, validations = self.first
        val = self.val_steps * step * VAL_STEP_SHARE if validations < 2 else min(self.val_seconds[1:validations] or [0.0])
        return elapsed + (self.steps_per_epoch * self.fit_epochs - done) * step + (self.fit_epochs - validations) * val
