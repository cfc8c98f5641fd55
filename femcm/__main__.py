"""``python -m femcm ...``: the same as the ``femcm`` command."""

import sys

from femcm.app.cli import main

sys.exit(main())
