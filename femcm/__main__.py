"""``python -m femcm ...``: the same as the ``femcm`` command."""

import sys

from femcm.cli import main

sys.exit(main())
