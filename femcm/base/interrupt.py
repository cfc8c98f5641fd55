"""SIGINT/SIGTERM as an exception that every layer lets through, and PETSc's handlers removed.

PETSc installs its own handlers for SIGINT, SIGTERM, SIGPIPE, ... when it initialises: a
Ctrl-C then prints PETSc's error banner and aborts, and SIGPIPE (``femcm list | head -1``)
prints a "Broken Pipe" banner. gmsh's library replaces the SIGTERM handler when it is
initialised. :func:`handling` (used by the command line and the problem scripts) removes
PETSc's handlers and installs Python handlers that raise :class:`Interrupted`;
:func:`reinstall` puts them back after gmsh has been initialised.

Three things make the end prompt and clean:

- An :class:`Interrupted` raised inside a PETSc callback (a residual assembly during a Newton
  solve) comes back out of PETSc as a ``PETSc.Error``, which a time stepper would take for a
  failed step and retry. So the signal is *recorded* and raised again every :data:`REPEAT`
  seconds (``SIGALRM``) until the run's error handling calls :func:`quiet`; retry loops may
  call :func:`check`. The command line reports "interrupted" whenever a signal was recorded,
  whatever exception ended the run.
- Python runs a signal handler only between bytecodes, so not during a long call into a C
  library (gmsh meshing a large model). A watchdog thread (:mod:`femcm.base.signal_watchdog`)
  waits :data:`GRACE` seconds for the handler; if the main thread is still inside C by then,
  it runs the registered cleanups (:func:`on_abandon`), prints the one line and ends the
  process with 128 + signal.
- A second signal while cleaning up ends the process the same way at once.

Under MPI an exception raised at once on one rank leaves the others waiting in a collective
call, so nothing collective (a checkpoint) can be written any more. Within :func:`deferred`
(a time-step loop that writes checkpoints) the handler therefore only *records* the signal;
the loop asks every rank at the end of each step (:func:`pending`, reduced over the ranks),
writes its checkpoint and raises :class:`Interrupted` everywhere at the same point. A step
that takes longer than :data:`DEFER_LIMIT` seconds after the signal is interrupted as above;
a second signal ends the process at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

from femcm.base.signal_watchdog import GRACE, abandon, on_abandon, watch

__all__ = [
    "DEFER_LIMIT",
    "GRACE",
    "REPEAT",
    "Interrupted",
    "check",
    "deferred",
    "deferring",
    "handling",
    "on_abandon",
    "pending",
    "quiet",
    "reinstall",
    "reset",
]

REPEAT = 0.1
"""Seconds between repeats of the interruption until :func:`quiet` (see above)."""

DEFER_LIMIT = 20.0
"""Seconds a signal is held back within :func:`deferred` before it interrupts the step."""

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_pending: int | None = None
_repeating = False
_deferring = False
_active = False
_handled = threading.Event()
_handled_signals: list[int] = list(SIGNALS)


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
    quiet()
    _pending = None
    _handled.clear()


def quiet() -> None:
    """Stop repeating the interruption (call first when handling it)."""
    global _repeating
    if _repeating:
        _repeating = False
        with contextlib.suppress(ValueError):  # not the main thread
            signal.setitimer(signal.ITIMER_REAL, 0.0)


def check() -> None:
    """Raise :class:`Interrupted` if a signal was received (call it in retry loops).

    A no-op while the signal is held back (:func:`deferred`): the loop asks all ranks.
    """
    if _pending is not None and not (_deferring and not _repeating):
        raise Interrupted(_pending)


def deferring() -> bool:
    """Whether signals are being held back for a collective stop (:func:`deferred`)."""
    return _deferring


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM are recorded, not raised (see the module notes).

    Only where :func:`handling` is active (the command line, the problem scripts); elsewhere
    the block runs unchanged.
    """
    global _deferring
    if not _active or _deferring:
        yield
        return
    _deferring = True
    try:
        yield
    except BaseException:
        _deferring = False
        _cancel_limit()  # the loop stopped (on the signal or otherwise): no late raise
        raise
    _deferring = False
    if _pending is not None and not _repeating:  # arrived during the last step: raise now
        _start_repeating()
        raise Interrupted(_pending)


def _cancel_limit() -> None:
    if _pending is not None and not _repeating:
        with contextlib.suppress(ValueError):
            signal.setitimer(signal.ITIMER_REAL, 0.0)


def _start_repeating(delay: float = REPEAT) -> None:
    global _repeating
    _repeating = True
    signal.signal(signal.SIGALRM, _again)
    signal.setitimer(signal.ITIMER_REAL, delay, REPEAT)


def _handler(signum: int, frame: object) -> None:
    global _pending, _repeating
    _handled.set()
    if _pending is not None and not _repeating:
        abandon(signum)  # a second signal while cleaning up
    if _pending is None and _deferring:
        _pending = signum  # held back: the time-step loop stops all ranks together
        signal.signal(signal.SIGALRM, _limit)
        signal.setitimer(signal.ITIMER_REAL, DEFER_LIMIT)
        return
    if _pending is None:
        _pending = signum
        _start_repeating()
    raise Interrupted(_pending)


def _limit(signum: int, frame: object) -> None:
    """The held-back signal waited :data:`DEFER_LIMIT` seconds: interrupt as usual."""
    if _pending is not None and not _repeating:
        _start_repeating()
        raise Interrupted(_pending)


def _again(signum: int, frame: object) -> None:
    if _repeating and _pending is not None:
        raise Interrupted(_pending)


def reinstall() -> None:
    """Install the handlers again (after a library such as gmsh replaced them)."""
    if not _active or threading.current_thread() is not threading.main_thread():
        return
    for s in _handled_signals:
        signal.signal(s, _handler)


def _remove_petsc_handlers() -> None:
    try:
        from petsc4py import PETSc
    except ImportError:  # pragma: no cover - PETSc is always there with DOLFINx
        return
    with contextlib.suppress(Exception):
        PETSc.Sys.popSignalHandler()  # restores the default action of every signal PETSc took


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM raise :class:`Interrupted`; SIGPIPE ends quietly.

    Only in the main thread (elsewhere the block runs unchanged). The previous handlers are
    restored on exit (PETSc's are not reinstalled).
    """
    global _active
    if _active or threading.current_thread() is not threading.main_thread():
        yield
        return
    _remove_petsc_handlers()
    reset()
    keep = (*SIGNALS, signal.SIGPIPE, signal.SIGALRM)
    previous = {s: signal.getsignal(s) for s in keep}
    r, w = os.pipe()
    os.set_blocking(w, False)
    old_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    watcher = threading.Thread(
        target=watch,
        args=(r, SIGNALS, _handled, deferring),
        daemon=True,
        name="femcm-signals",
    )
    watcher.start()
    _active = True
    # A signal ignored when femcm started (SIGINT of `cmd &` in a script, nohup) stays ignored.
    _handled_signals[:] = [s for s in SIGNALS if previous[s] is not signal.SIG_IGN]
    reinstall()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # like any Unix filter: `femcm list | head`
    try:
        yield
    finally:
        quiet()
        _active = False
        signal.set_wakeup_fd(old_fd)
        os.close(w)  # the watchdog reads EOF and ends
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
