"""``python -m kinko.cli``: the ``kinko`` command without its console script (the tests and
the benchmark run it so)."""

import sys

from kinko.cli import main

sys.exit(main())
