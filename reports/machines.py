"""Which machine measured a figure. A run resumes after a reboot, possibly on another machine, and workers on
several machines share one study, so a time or a latency is named with the machine(s) that measured it, never
with the one that happened to run last."""

from __future__ import annotations

from typing import Any


def label(machine: dict[str, Any] | None) -> str | None:
    """``"CPU, N cores"``, or None when nothing was recorded."""
    if not machine or not machine.get("cpu"):
        return None
    return f"{machine['cpu']}, {machine['cores']} cores" if machine.get("cores") else str(machine["cpu"])


def measured_on(machines: list[dict[str, Any] | None]) -> str:
    """"on CPU, N cores" when one machine measured everything; every machine named, and a warning that their
    times do not compare, when several did; how many measurements recorded none (runs made before it was kept)."""
    labels = [label(m) for m in machines]
    known = list(dict.fromkeys(found for found in labels if found))
    missing = labels.count(None)
    if not known:
        return "on a machine not recorded"
    text = (f"on {known[0]}" if len(known) == 1
            else f"on {len(known)} different machines ({'; '.join(known)}), so these times do not compare with each other")
    if missing:
        text += f" ({missing} of {len(labels)} measurements did not record their machine)"
    return text


def machines_of(commands: list[dict[str, Any]], last: dict[str, Any] | None) -> list[str]:
    """The distinct machines that ran the commands of a run directory, oldest first; the manifest's last machine
    when no command recorded one."""
    found = list(dict.fromkeys(filter(None, (label(c.get("machine")) for c in commands))))
    if found:
        return found
    fallback = label(last)
    return [fallback] if fallback else []
