"""``python -m femcm ...``: the same as the ``femcm`` command."""

import sys

from femcm.app.cli import main

if __name__ == "__main__":  # not when an mpi4py.futures worker imports the main module
    sys.exit(main())
