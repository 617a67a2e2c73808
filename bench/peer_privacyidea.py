"""``make bench PEER=privacyidea``: privacyIDEA, the best-known open-source OTP server, under
the same load as kinko, on the same kind of database, in the same run.

privacyIDEA is installed from PyPI into its own virtualenv (``bench/peer/privacyidea``, never
a kinko dependency) with gunicorn, configured for production (``pi.cfg``: its own database,
encryption key and audit signing keys made with ``pi-manage setup``), given N HOTP tokens
with the bench's serials and seeds (``bench/privacyidea_setup.py``), and served by gunicorn
with as many worker processes as kinko gets (gthread workers, 4 threads each). The load is
``POST /validate/check`` with ``serial`` and ``pass``; each token's next HOTP counter is a
fresh valid code, as kinko's next step is.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import run
from bench.common import CounterWalker
from bench.loadgen import Target, run_phase
from kinko.store.db import normalize_url

VENV = run.HERE / "peer" / "privacyidea"
PACKAGES = ["privacyidea", "psycopg2-binary", "gunicorn"]


def ensure_installed() -> Path:
    python = VENV / "bin" / "python"
    if not (VENV / "bin" / "pi-manage").exists() or not (VENV / "bin" / "gunicorn").exists():
        print("  installing privacyIDEA from PyPI into bench/peer/privacyidea ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PACKAGES], check=True)
    version = subprocess.run([str(python), "-c", "import importlib.metadata as m;"
                              "print(m.version('privacyidea'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"  privacyIDEA {version}", flush=True)
    return python


def _database(kind: str, server_url: str, workdir: Path) -> tuple[str, Any]:
    """(SQLAlchemy URL for privacyIDEA, a function that drops the database)."""
    if kind == "sqlite":
        path = workdir / "privacyidea.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    name = f"pi_bench_{secrets.token_hex(3)}"
    admin = create_engine(normalize_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = normalize_url(server_url).set(drivername="postgresql+psycopg2", database=name)
    return url.render_as_string(hide_password=False), drop


def configure(kind: str, args: argparse.Namespace) -> tuple[Path, Any]:
    workdir = run.WORK / f"privacyidea-{kind}"
    workdir.mkdir(parents=True, exist_ok=True)
    url, drop = _database(kind, args.postgresql, workdir)
    config = workdir / "pi.cfg"
    config.write_text(
        f"SQLALCHEMY_DATABASE_URI = {url!r}\n"
        f"SECRET_KEY = {secrets.token_hex(24)!r}\n"
        f"PI_PEPPER = {secrets.token_hex(24)!r}\n"
        f"PI_ENCFILE = {str(workdir / 'enckey')!r}\n"
        f"PI_AUDIT_KEY_PRIVATE = {str(workdir / 'private.pem')!r}\n"
        f"PI_AUDIT_KEY_PUBLIC = {str(workdir / 'public.pem')!r}\n"
        f"PI_LOGFILE = {str(workdir / 'privacyidea.log')!r}\n"
        "PI_LOGLEVEL = 30\n"            # WARNING, as kinko runs with --log-level warning
        "PI_AUDIT_SQL_TRUNCATE = True\n"
    )
    for name in ("enckey", "private.pem", "public.pem"):
        (workdir / name).unlink(missing_ok=True)
    env = os.environ | {"PRIVACYIDEA_CONFIGFILE": str(config)}
    manage = str(VENV / "bin" / "pi-manage")
    for step in (["setup", "create_enckey"], ["setup", "create_audit_keys"],
                 ["setup", "create_tables"]):
        subprocess.run([manage, *step], env=env, cwd=workdir, check=True,
                       stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    subprocess.run([str(VENV / "bin" / "python"), str(run.HERE / "privacyidea_setup.py"),
                    str(config), str(args.peer_tokens)], env=env, cwd=workdir, check=True)
    print(f"  {args.peer_tokens:,} HOTP tokens in {time.perf_counter() - started:.1f} s",
          flush=True)
    return config, drop


def start(config: Path, workers: int, kind: str) -> run.Server:
    port = run.free_port()
    app = (f"privacyidea.app:create_app(config_name='production', "
           f"config_file='{config}', silent=True)")
    argv = [str(VENV / "bin" / "gunicorn"), "--workers", str(workers), "--worker-class",
            "gthread", "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level",
            "warning", app]
    env = os.environ | {"PRIVACYIDEA_CONFIGFILE": str(config)}
    return run.Server("privacyidea", argv, env, port, run._http_ready("/healthz/"),
                      run.WORK / f"privacyidea-{kind}.log")


def _value(doc: Any) -> Any:
    return doc.get("result", {}).get("value") if isinstance(doc, dict) else None


def measure(args: argparse.Namespace, rows: list[dict[str, Any]]) -> dict[str, Any]:
    print("\n== privacyIDEA", flush=True)
    ensure_installed()
    out: dict[str, Any] = {}
    for kind in args.backends.split(","):
        config, drop = configure(kind, args)
        server = start(config, args.workers, kind)
        try:
            target = Target(
                name="privacyidea", base_url=f"http://127.0.0.1:{server.port}",
                path="/validate/check", form=True, walker=CounterWalker,
                body=lambda serial, otp: {"serial": serial, "pass": otp},
                accepted=lambda status, doc: status == 200 and _value(doc) is True,
                refused=lambda status, doc: status == 200 and _value(doc) is False,
                server_pids=server.pids)
            state: dict[int, tuple[int, int]] = {}
            tokens = range(1, args.peer_tokens + 1)
            for mode in args.modes.split(","):
                for count in (int(c) for c in args.clients.split(",")):
                    result = run_phase(target, tokens, state, mode, count, args.seconds,
                                       args.warmup, args.loadgen_processes)
                    run._report(result, kind, args.peer_tokens, rows, 0.0)
        finally:
            server.stop()
            drop()
        out[kind] = {"config": "gunicorn gthread, 4 threads per worker", "workers": args.workers}
    return out
