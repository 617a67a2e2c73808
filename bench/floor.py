"""The floor: a raw ASGI endpoint doing only what no OTP server can skip, on kinko's own tables.

Per request: parse the JSON, compute the HMACs, and run ONE conditional UPDATE that spends
the step (or counts the failure), committed on its own: no framework, no ORM, no audit
event, no lookups, no seed encryption (seeds come from the bench's derivation). Whatever
kinko costs beyond this is kinko's; what this costs is the stack's (uvicorn, the database,
the load generator). Run as ``uvicorn bench.floor:app --workers N`` with
``BENCH_FLOOR_DATABASE`` set to a SQLite path or a PostgreSQL conninfo.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import sqlite3
import time
from typing import Any

from bench.common import PERIOD, hotp, seed_of

DATABASE = os.environ.get("BENCH_FLOOR_DATABASE", "")
POOL = int(os.environ.get("BENCH_FLOOR_POOL", "16"))
MAX_AHEAD = 400  # steps searched around now: covers the bench's HOTP-style walk
# The same acceptance rule as kinko's: a step above the last one spent, within ±1 step of
# now plus the stored drift; the failure path counts the wrong code.
SPEND = ("UPDATE tokens SET last_step = {s}, drift = {d}, failures = 0 WHERE serial = {serial}"
         " AND state = 'active' AND (last_step IS NULL OR last_step < {s})"
         " AND drift BETWEEN {d} - 1 AND {d} + 1 RETURNING id")
FAIL = ("UPDATE tokens SET failures = failures + 1 WHERE serial = {serial}"
        " AND state = 'active' RETURNING failures")


def _step(serial: str, otp: str, now: float) -> int | None:
    seed, current = seed_of(serial), int(now // PERIOD)
    for step in range(current - 2, current + MAX_AHEAD):
        if hmac.compare_digest(hotp(seed, step), otp):
            return step
    return None


class Postgres:
    def __init__(self) -> None:
        self.pool: asyncio.Queue[Any] = asyncio.Queue()

    async def open(self) -> None:
        import psycopg

        for _ in range(POOL):
            self.pool.put_nowait(await psycopg.AsyncConnection.connect(DATABASE, autocommit=True))

    async def one(self, sql: str, params: dict[str, Any]) -> Any:
        connection = await self.pool.get()
        try:
            cursor = await connection.execute(sql.format(**{k: f"%({k})s" for k in params}),
                                              params)
            return await cursor.fetchone()
        finally:
            self.pool.put_nowait(connection)


class Sqlite:
    async def open(self) -> None:
        self.connection = sqlite3.connect(DATABASE, isolation_level=None, timeout=30)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = NORMAL")  # as kinko's engine

    async def one(self, sql: str, params: dict[str, Any]) -> Any:
        rows = self.connection.execute(sql.format(**{k: f":{k}" for k in params}),
                                       params).fetchall()  # all: ends the statement
        return rows[0] if rows else None


db: Postgres | Sqlite = Postgres() if DATABASE.startswith("postgres") else Sqlite()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await db.open()
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    try:
        request, now = json.loads(body), time.time()
        step = _step(request["serial"], request["otp"], now)
    except (ValueError, KeyError, TypeError):
        request, step = None, None
    if request is None:
        status = 400
    elif step is None:
        await db.one(FAIL, {"serial": request["serial"]})
        status = 401
    else:
        spent = await db.one(SPEND, {"s": step, "d": step - int(now // PERIOD),
                                     "serial": request["serial"]})
        status = 200 if spent else 409
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok": %s}' % (b"true" if
                                                                    status == 200 else b"false")})
