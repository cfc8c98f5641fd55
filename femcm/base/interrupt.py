"""SIGINT/SIGTERM as an exception that every layer lets through, and PETSc's handlers removed.

PETSc installs its own handlers for SIGINT, SIGTERM, SIGPIPE, ... when it initialises: a
Ctrl-C then prints PETSc's error banner and aborts, and SIGPIPE (``femcm list | head -1``)
prints a "Broken Pipe" banner. :func:`handling` (used by the command line and the problem
scripts) removes them and installs Python handlers that raise :class:`Interrupted`.

An :class:`Interrupted` raised inside a PETSc callback (a residual assembly during a Newton
solve) comes back out of PETSc as a ``PETSc.Error``, which a time stepper would take for a
failed step and retry. So the signal is also *recorded*: loops that retry after failures call
:func:`check`, which raises :class:`Interrupted` again, and the command line reports
"interrupted" whenever a signal was recorded, whatever exception ended the run.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

__all__ = ["Interrupted", "check", "handling", "pending", "reset"]

_pending: int | None = None


class Interrupted(BaseException):
    """The run was interrupted by a signal; ``exit_status`` is 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted ({signal.Signals(signum).name})")
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """130 for SIGINT, 143 for SIGTERM (the shell convention)."""
        return 128 + self.signum


def pending() -> int | None:
    """The signal number received since the last :func:`reset`, or None."""
    return _pending


def reset() -> None:
    """Forget a recorded signal."""
    global _pending
    _pending = None


def check() -> None:
    """Raise :class:`Interrupted` if a signal was received (call it in retry loops)."""
    if _pending is not None:
        raise Interrupted(_pending)


def _handler(signum: int, frame: object) -> None:
    global _pending
    if _pending is None:
        _pending = signum
        raise Interrupted(signum)
    # A second signal while cleaning up: stop at once.
    raise Interrupted(signum)


def _remove_petsc_handlers() -> None:
    try:
        from petsc4py import PETSc
    except ImportError:  # pragma: no cover - PETSc is always there with DOLFINx
        return
    with contextlib.suppress(Exception):
        PETSc.Sys.popSignalHandler()  # restores the default action of every signal PETSc took


@contextlib.contextmanager
def handling(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Within the block, ``signals`` raise :class:`Interrupted`; SIGPIPE ends quietly.

    Only in the main thread (elsewhere the block runs unchanged). The previous handlers are
    restored on exit (PETSc's are not reinstalled).
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _remove_petsc_handlers()
    reset()
    previous = {s: signal.getsignal(s) for s in (*signals, signal.SIGPIPE)}
    for s in signals:
        signal.signal(s, _handler)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # like any Unix filter: `femcm list | head`
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
