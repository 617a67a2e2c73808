"""``python -m kinko_token``: the same as the ``kinko-token`` command."""

from kinko_token.cli import main

raise SystemExit(main())
