"""The modes a thread enters: `no_grad()` (what is computed inside records no graph) and
`detect_anomaly()` (each step checked). They belong to the thread that entered them, as in
PyTorch; a counter of threads inside some mode spares the usual case the per-thread look-up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Modes(threading.local):
    """The modes of the thread that reads them: they belong to the thread that entered them."""

    recording = True  # False inside `no_grad()`
    anomaly: Any = None  # inside `detect_anomaly()`: the checks of each step


current = _Modes()
entered = 0  # threads inside a mode now; 0 (the usual case) spares the per-thread look-up
_lock = threading.Lock()


@contextmanager
def mode(**settings: Any) -> Iterator[None]:
    """Set this thread's modes (`recording`, `anomaly`) inside the block; restored after it."""
    global entered
    previous = {name: getattr(current, name) for name in settings}
    with _lock:
        entered += 1
    for name, setting in settings.items():
        setattr(current, name, setting)
    try:
        yield
    finally:
        for name, setting in previous.items():
            setattr(current, name, setting)
        with _lock:
            entered -= 1


def no_grad() -> Any:
    """Inside, operations record no parents: results are constants (for inference). The mode
    belongs to the thread that entered it, as in PyTorch."""
    return mode(recording=False)


def is_recording() -> bool:
    """False inside `no_grad()` (on this thread)."""
    return not entered or current.recording
