"""``make bench``: kinko's verification throughput and latency, beside the floor and a peer.

For each database kind (SQLite, PostgreSQL) and token count (10,000 and 1,000,000): create a
database with kinko's migrations, bulk-load the tokens, add an API client, then start kinko
with N worker processes (``uvicorn --factory kinko.web.asgi:create --workers N``, the
documented way) and measure ``POST /api/v1/verify`` with valid and with wrong codes at each
client count; then the same load against the floor (``bench/floor.py``) on the same
database. ``--peer privacyidea`` adds privacyIDEA (``bench/peer_privacyidea.py``). Prints a
table and writes ``bench/results.json``. Every knob is an option or a ``BENCH_*`` variable;
see docs/performance.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import dataset, wrk
from bench.loadgen import PhaseResult, Target, run_phase

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "var"
BIN = Path(sys.executable).parent


def _env_list(name: str, default: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


def options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default=",".join(_env_list("BENCH_BACKENDS",
                                                            "sqlite,postgresql")))
    p.add_argument("--sizes", default=",".join(_env_list("BENCH_SIZES", "10000,1000000")),
                   help="token counts, e.g. 10000,1000000 (empty: only the peer)")
    p.add_argument("--clients", default=",".join(_env_list("BENCH_CLIENTS", "1,16,32,64")))
    p.add_argument("--modes", default=",".join(_env_list("BENCH_MODES", "valid,invalid")))
    p.add_argument("--targets", default=",".join(_env_list("BENCH_TARGETS", "kinko,floor")))
    p.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 20)))
    p.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", 2)))
    p.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    p.add_argument("--server", choices=("uvicorn", "granian"),
                   default=os.environ.get("BENCH_SERVER", "uvicorn"),
                   help="the HTTP server kinko runs under (the floor always uses uvicorn)")
    p.add_argument("--loadgen", choices=("wrk", "httpx"),
                   default=os.environ.get("BENCH_LOADGEN", "wrk" if wrk.available() else "httpx"),
                   help="wrk (Debian's package; the default when installed) or the asyncio + "
                        "httpx load generator")
    p.add_argument("--loadgen-processes", type=int,
                   default=int(os.environ.get("BENCH_LOADGEN_PROCESSES", 2)),
                   help="load generator processes (one Python process tops out near 1 core)")
    p.add_argument("--peer", default=os.environ.get("PEER", ""),
                   help="also measure a peer OTP server: privacyidea")
    p.add_argument("--peer-tokens", type=int,
                   default=int(os.environ.get("BENCH_PEER_TOKENS", 1000)))
    p.add_argument("--postgresql", default=os.environ.get("BENCH_POSTGRESQL",
                                                          dataset.DEFAULT_POSTGRESQL))
    p.add_argument("--output", default=os.environ.get("BENCH_OUTPUT",
                                                      str(HERE / "results.json")))
    p.add_argument("--keep", action="store_true", help="keep the databases (debugging)")
    return p.parse_args(argv)


# --- servers ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server started in its own process group, stopped by that group's id."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int,
                 ready: Callable[[int], bool], log: Path) -> None:
        self.name, self.port = name, port
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited at start; see {log}:\n"
                                   + log.read_text()[-2000:])
            if ready(port):
                return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{name} did not become ready in 120 s; see {log}")

    def pids(self) -> list[int]:
        return [self.process.pid]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _http_ready(path: str, method: str = "GET") -> Callable[[int], bool]:
    def ready(port: int) -> bool:
        try:
            response = httpx.request(method, f"http://127.0.0.1:{port}{path}", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    return ready


def start_kinko(database: dataset.Database, master_key: str, workers: int,
                server: str = "uvicorn") -> Server:
    port = free_port()
    env = os.environ | {
        "KINKO_DATABASE_URL": database.url,
        "KINKO_MASTER_KEY": master_key,
        # Wrong codes are measured by the thousand: without this the tokens would lock
        # after 5 and the "invalid" rows would measure refusals of locked tokens instead.
        "KINKO_OTP_MAX_FAILURES": "1000000000",
        "KINKO_DB_POOL_SIZE": os.environ.get("KINKO_DB_POOL_SIZE", "10"),
        "KINKO_DB_MAX_OVERFLOW": os.environ.get("KINKO_DB_MAX_OVERFLOW", "10"),
        "KINKO_DATA_DIR": str(WORK),
    }
    if server == "granian":
        # One event loop thread per worker, uvloop, HTTP/1.1 only (what wrk speaks); the
        # handlers' blocking work still runs in anyio's thread pool, as under uvicorn.
        argv = [str(BIN / "granian"), "--interface", "asgi", "--factory", "--workers",
                str(workers), "--host", "127.0.0.1", "--port", str(port), "--http", "1",
                "--loop", "uvloop", "--log-level", "warning", "--no-access-log",
                "kinko.web.asgi:create"]
    else:
        argv = [str(BIN / "uvicorn"), "--factory", "kinko.web.asgi:create", "--workers",
                str(workers), "--host", "127.0.0.1", "--port", str(port), "--log-level",
                "warning", "--no-access-log"]
    return Server("kinko", argv, env, port, _http_ready("/healthz"),
                  WORK / f"kinko-{database.kind}.log")


def start_floor(database: dataset.Database, workers: int) -> Server:
    port = free_port()
    if database.kind == "sqlite":
        target = database.name
    else:
        from kinko.store.db import normalize_url

        target = normalize_url(database.url).set(drivername="postgresql").render_as_string(
            hide_password=False)
    env = os.environ | {"BENCH_FLOOR_DATABASE": target, "PYTHONPATH": str(ROOT)}
    argv = [str(BIN / "uvicorn"), "bench.floor:app", "--workers", str(workers), "--host",
            "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return Server("floor", argv, env, port, _http_ready("/", "POST"),
                  WORK / f"floor-{database.kind}.log")


def kinko_target(server: Server, bearer: str) -> Target:
    return Target(
        name="kinko", base_url=f"http://127.0.0.1:{server.port}", path="/api/v1/verify",
        headers={"Authorization": f"Bearer {bearer}"},
        body=lambda serial, otp: {"serial": serial, "otp": otp, "purpose": "login"},
        accepted=lambda status, doc: status == 200 and doc.get("result") == "accepted",
        refused=lambda status, doc: (status in (400, 401, 403, 409, 422, 423)
                                     and isinstance(doc, dict) and doc.get("code") == "wrong_code"),
        server_pids=server.pids,
        wrk_valid=(200, '"accepted"'), wrk_invalid=(401, '"wrong_code"'))


def floor_target(server: Server) -> Target:
    return Target(name="floor", base_url=f"http://127.0.0.1:{server.port}", path="/verify",
                  # 409: a wrong code that happens to be the code of a step far from the
                  # window (the floor searches 400 steps) is refused by the UPDATE instead.
                  refused=lambda status, doc: status in (401, 409), server_pids=server.pids)


# --- kinko's side of the data ----------------------------------------------------------------

def add_api_client(database: dataset.Database, master_key: str) -> str:
    """A bearer secret with the verify scope, made by kinko's own service (as the CLI does)."""
    from kinko.bootstrap import build
    from kinko.config import Settings
    from kinko.services import api_clients
    from kinko.services.context import NoMetrics

    kinko = build(Settings(database_url=database.url, master_key=master_key),
                  metrics=NoMetrics())
    try:
        issued = api_clients.add_client(kinko.ctx, "bench", ["verify"])
        return issued.bearer.reveal()
    finally:
        kinko.close()


def token_state(database: dataset.Database) -> dict[int, tuple[int, int]]:
    """token id -> (last spent step, drift), as stored now."""
    if database.kind == "sqlite":
        with sqlite3.connect(database.name) as connection:
            rows = connection.execute(
                "SELECT id, last_step, drift FROM tokens WHERE last_step IS NOT NULL").fetchall()
    else:
        import psycopg

        from kinko.store.db import normalize_url

        url = normalize_url(database.url).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False)) as connection:
            rows = connection.execute(
                "SELECT id, last_step, drift FROM tokens WHERE last_step IS NOT NULL").fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def audit_count(database: dataset.Database, outcome: str) -> int:
    sql = ("SELECT count(*) FROM audit_events WHERE action = 'token:code:checked' "
           "AND outcome = {}")
    if database.kind == "sqlite":
        with sqlite3.connect(database.name) as connection:
            return int(connection.execute(sql.format("?"), (outcome,)).fetchone()[0])
    import psycopg

    from kinko.store.db import normalize_url

    url = normalize_url(database.url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as connection:
        return int(connection.execute(sql.format("%s"), (outcome,)).fetchone()[0])  # type: ignore[index]


def replay_is_refused(target: Target, state: dict[int, tuple[int, int]]) -> bool:
    """Send a code that was accepted during the run once more: it must be refused."""
    from bench.common import hotp, seed_of, serial_of

    token, (step, _) = next(iter(state.items()))
    serial = serial_of(token)
    response = httpx.post(target.base_url + target.path, headers=target.headers,
                          json=target.body(serial, hotp(seed_of(serial), step)), timeout=10)
    return response.status_code != 200


# --- one database --------------------------------------------------------------------------

def measure(args: argparse.Namespace, kind: str, size: int, log: list[dict[str, Any]]) -> None:
    master_key = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")
    print(f"\n== {kind}, {size:,} tokens", flush=True)
    started = time.perf_counter()
    database = dataset.create_database(kind, workdir=WORK, label=str(size),
                                       server_url=args.postgresql)
    try:
        load_seconds = dataset.load_tokens(database, size, master_key)
        clients = [int(c) for c in args.clients.split(",")]
        modes = args.modes.split(",")
        tokens = range(1, size + 1)
        for name in args.targets.split(","):
            if name == "kinko":
                bearer = add_api_client(database, master_key)
                server = start_kinko(database, master_key, args.workers, args.server)
                target = kinko_target(server, bearer)
            elif name == "floor":
                server = start_floor(database, args.workers)
                target = floor_target(server)
            else:
                raise SystemExit(f"unknown target {name}")
            try:
                before = audit_count(database, "success") if name == "kinko" else 0
                accepted = 0
                for mode in modes:
                    for count in clients:
                        if args.loadgen == "wrk":
                            result = wrk.run_phase(target, tokens,
                                                   lambda: token_state(database), mode,
                                                   count, args.seconds, args.warmup, WORK)
                        else:
                            result = run_phase(target, tokens, token_state(database), mode,
                                               count, args.seconds, args.warmup,
                                               args.loadgen_processes)
                        accepted += result.ok + result.warmup_ok if mode == "valid" else 0
                        _report(result, kind, size, log, load_seconds)
                check: dict[str, Any] = {}
                if name == "kinko" and "valid" in modes:
                    # Every code accepted (warm-up included) left exactly one success event.
                    # wrk stops with requests in flight, whose answers it never counts: the
                    # server may have accepted (and audited) up to one per client per run.
                    check["audited_successes"] = audited = (audit_count(database, "success")
                                                            - before)
                    check["measured_successes"] = accepted
                    in_flight = (0 if args.loadgen == "httpx"
                                 else sum(clients) * (2 if args.warmup > 0 else 1))
                    check["audit_matches"] = 0 <= audited - accepted <= in_flight
                state = token_state(database)
                if state:
                    check["replay_refused"] = replay_is_refused(target, state)
                if check:
                    print(f"   checks: {check}", flush=True)
                    log.append({"backend": kind, "tokens": size, "target": name,
                                "checks": check})
            finally:
                server.stop()
    finally:
        if not args.keep:
            database.drop()
    print(f"   ({kind}, {size:,} tokens: {time.perf_counter() - started:.0f} s in all)",
          flush=True)


def _report(result: PhaseResult, kind: str, size: int, log: list[dict[str, Any]],
            load_seconds: float) -> None:
    row = {"backend": kind, "tokens": size, "load_seconds": round(load_seconds, 1)}
    row |= result.row()
    log.append(row)
    print(f"   {result.target:<6} {result.mode:<7} {result.clients:>3} clients "
          f"{result.rate:>8.1f}/s  p50 {result.p50_ms:>7.2f} ms  p99 {result.p99_ms:>7.2f} ms"
          f"  unexpected {result.unexpected + result.transport_errors:>4}"
          f"  cpu {result.cpu}", flush=True)
    for sample in result.sample_unexpected[:2]:
        print(f"      e.g. {sample}", flush=True)


# --- the report ------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next(line.split(":", 1)[1].strip() for line in
                  Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu_model": model, "memory": memory,
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "kernel": platform.release()}


def _cell(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    for row in rows:
        if "rate" in row and all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def targets(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The targets of issue 10 ("One verification path"), each with the figures it was
    judged on (None: not measured in this run)."""
    at = {"backend": "postgresql", "clients": 32}
    small = _cell(rows, target="kinko", tokens=10000, mode="valid", **at)
    wrong = _cell(rows, target="kinko", tokens=10000, mode="invalid", **at)
    large = _cell(rows, target="kinko", tokens=1000000, mode="valid", **at)
    floor = _cell(rows, target="floor", tokens=10000, mode="valid", **at)
    peer = _cell(rows, target="privacyidea", mode="valid", **at)
    out = []

    def judge(name: str, met: bool | None, figures: dict[str, Any]) -> None:
        out.append({"target": name, "met": met, **figures})

    def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, digits: int) -> Any:
        return None if a is None or b is None or not b["rate"] else round(
            a["rate"] / b["rate"], digits)

    judge("≥2,500 valid verifications/s, p99 ≤ 25 ms (PostgreSQL, 2 processes, 32 clients)",
          None if small is None else small["rate"] >= 2500 and small["p99_ms"] <= 25,
          {"rate": small and small["rate"], "p99_ms": small and small["p99_ms"],
           "workers": args.workers})
    judge("≥2,000 wrong codes refused/s",
          None if wrong is None else wrong["rate"] >= 2000, {"rate": wrong and wrong["rate"]})
    judge("≥60 % of the floor's throughput",
          None if small is None or floor is None else small["rate"] >= 0.6 * floor["rate"],
          {"kinko": small and small["rate"], "floor": floor and floor["rate"],
           "ratio": ratio(small, floor, 3)})
    judge("≥100× privacyIDEA's throughput",
          None if small is None or peer is None else small["rate"] >= 100 * peer["rate"],
          {"kinko": small and small["rate"], "privacyidea": peer and peer["rate"],
           "ratio": ratio(small, peer, 1)})
    cpu_ms = (None if small is None or not small["rate"]
              else round(small["cpu"]["server"] / small["rate"] * 1000, 2))
    judge("server CPU ≤ 0.5 ms per verification",
          None if cpu_ms is None else cpu_ms <= 0.5, {"cpu_ms": cpu_ms})
    judge("≤10 % slower with 1,000,000 tokens than with 10,000",
          None if small is None or large is None else large["rate"] >= 0.9 * small["rate"],
          {"rate_10k": small and small["rate"], "rate_1m": large and large["rate"],
           "ratio": ratio(large, small, 3)})
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\nbackend     tokens     target       mode     clients      req/s   p50 ms   p99 ms"
          "  unexp.")
    for r in rows:
        if "rate" not in r:
            continue
        print(f"{r['backend']:<11} {r['tokens']:>9,}  {r['target']:<12} {r['mode']:<8}"
              f" {r['clients']:>7} {r['rate']:>10.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}"
              f" {r['unexpected'] + r['transport_errors']:>7}")


def main(argv: Sequence[str] | None = None) -> int:
    args = options(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    info = machine()
    print(f"kinko bench on {info['nproc']} × {info['cpu_model']}, {info['memory']}; "
          f"load average {' '.join(info['loadavg_at_start'])}", flush=True)
    rows: list[dict[str, Any]] = []
    peer_result: dict[str, Any] | None = None
    for kind in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",") if s):
            measure(args, kind, size, rows)
    if args.peer:
        if args.peer != "privacyidea":
            raise SystemExit(f"unknown peer {args.peer!r}: only privacyidea is known")
        from bench import peer_privacyidea

        peer_result = peer_privacyidea.measure(args, rows)
    print_table(rows)
    judged = targets(rows, args)
    print()
    for t in judged:
        state = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        figures = {k: v for k, v in t.items() if k not in ("target", "met")}
        print(f"{state:>13}: {t['target']}  {figures}")
    document = {"started": started.isoformat(), "finished": datetime.now(UTC).isoformat(),
                "machine": info, "command": " ".join(sys.argv),
                "config": {k: v for k, v in vars(args).items() if k != "postgresql"},
                "results": rows, "targets": judged, "peer": peer_result}
    Path(args.output).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
