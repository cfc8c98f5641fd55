"""Logging on rank 0 only.

The library logs through the ``femcm`` logger and never configures handlers itself; the CLI
(and anyone who wants progress output) calls :func:`configure`.
"""

import logging
import sys

from mpi4py import MPI

logger = logging.getLogger("femcm")


class _RankZero(logging.Filter):
    def __init__(self, comm: MPI.Comm):
        super().__init__()
        self._rank = comm.rank

    def filter(self, record: logging.LogRecord) -> bool:
        return self._rank == 0


def configure(verbosity: int = 0, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    """Send ``femcm`` log records to stderr on rank 0.

    Args:
        verbosity: 0 warnings only, 1 progress (time steps, Newton iterations), 2 debug.
        comm: communicator whose rank 0 prints.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("femcm %(levelname).1s %(message)s"))
    handler.addFilter(_RankZero(comm))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
