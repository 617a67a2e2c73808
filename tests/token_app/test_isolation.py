"""The token app is a client only: it shares ``kinko.domain`` with the server and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("kinko.store", "kinko.services", "kinko.web", "kinko.bootstrap", "kinko.config",
             "kinko.banking", "kinko.cli", "sqlalchemy", "fastapi", "alembic", "psycopg",
             "uvicorn", "jinja2")

PROBE = """
import json, sys
import kinko_token, kinko_token.app, kinko_token.cli, kinko_token.client
import kinko_token.errors, kinko_token.tokens, kinko_token.vault
import kinko_token.vault_crypto, kinko_token.vault_format
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_token_app_loads_no_server_module() -> None:
    done = subprocess.run(  # noqa: S603  # the running interpreter, a fixed script
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(done.stdout)
    assert "kinko_token.app" in loaded and "kinko.domain.activation" in loaded
    leaked = [name for name in loaded
              if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    assert leaked == []
