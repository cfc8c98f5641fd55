"""The last resort when the main thread cannot react to a signal: clean up and end the process.

Python runs a signal handler only between bytecodes, so not during a long call into a C
library (gmsh meshing a large model). A watchdog thread (:func:`watch`, started by
:func:`femcm.base.interrupt.handling`), woken at once through :func:`signal.set_wakeup_fd`,
waits :data:`GRACE` seconds for the handler; if the main thread is still inside C by then (and
the call released the GIL, as gmsh's do), it runs the registered cleanups (:func:`on_abandon`:
the staging folder), prints the one line and ends the process with 128 + signal
(:func:`abandon`, also used for a second signal while cleaning up).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator

__all__ = ["DEFER_GRACE", "GRACE", "OTHER_RANKS_WAIT", "abandon", "on_abandon", "watch"]

GRACE = 1.0
"""Seconds the watchdog gives the main thread to react to a signal before ending the process."""

DEFER_GRACE = 10.0
"""Within :func:`femcm.base.interrupt.deferred`: seconds the watchdog waits for the main
thread (a long C call)."""

OTHER_RANKS_WAIT = 4.0
"""Seconds a rank other than 0 waits for rank 0 to end the job before it ends it itself."""

_cleanups: list[Callable[[], None]] = []


@contextlib.contextmanager
def on_abandon(cleanup: Callable[[], None]) -> Iterator[None]:
    """Within the block, ``cleanup`` runs if the watchdog has to end the process.

    It must be local and quick (remove a folder): it runs in the watchdog thread while the
    main thread is stuck in C code.
    """
    _cleanups.append(cleanup)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            _cleanups.remove(cleanup)


def _rank() -> int:
    mpi = sys.modules.get("mpi4py.MPI")
    try:
        return mpi.COMM_WORLD.rank if mpi is not None else 0
    except Exception:  # pragma: no cover - MPI finalised
        return 0


def abandon(signum: int) -> None:
    """Clean up and end the process now (watchdog thread or second signal)."""
    for cleanup in list(_cleanups):
        with contextlib.suppress(Exception):
            cleanup()
    if _rank() != 0:
        # Let rank 0 end the job and print (mpirun stops every rank when the first one ends);
        # if it is stuck too, say it from here.
        time.sleep(OTHER_RANKS_WAIT)
    name = signal.Signals(signum).name
    with contextlib.suppress(Exception):
        print(f"femcm: error: interrupted ({name})", file=sys.stderr, flush=True)
    os._exit(128 + signum)


def watch(
    fd: int, signals: Collection[int], handled: threading.Event, deferring: Callable[[], bool]
) -> None:
    """Thread body: for each of ``signals`` written to ``fd``, wait for ``handled``, else end.

    The wait is :data:`DEFER_GRACE` while ``deferring()`` (signals held back for a collective
    stop), :data:`GRACE` otherwise. Returns when ``fd`` reaches EOF (its writer closed).
    """
    while True:
        try:
            data = os.read(fd, 1)
        except OSError:
            return
        if not data:
            os.close(fd)
            return
        signum = data[0]
        if signum not in signals:
            continue
        if not handled.wait(DEFER_GRACE if deferring() else GRACE):
            abandon(signum)  # the main thread is stuck in C code
        handled.clear()
