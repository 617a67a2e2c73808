"""The load generator: C concurrent asyncio clients with httpx, each sending one request at a
time for ``seconds``, every valid request a fresh code (``common.Walker``).

It also samples /proc before and after a phase, so each result says where the machine's CPU
went: the server processes, PostgreSQL, this load generator, and anything else running.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import Walker, percentile, serial_of

#: (status, parsed JSON or None) -> True when the answer is the one the phase expects.
Judge = Callable[[int, Any], bool]


@dataclass
class Target:
    """How to ask one server to verify a code, and what a right answer looks like."""

    name: str
    base_url: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    form: bool = False  # privacyIDEA takes form fields; kinko and the floor take JSON
    body: Callable[[str, str], dict[str, str]] = lambda serial, otp: {
        "serial": serial, "otp": otp}
    accepted: Judge = lambda status, doc: status == 200
    refused: Judge = lambda status, doc: 400 <= status < 500
    server_pids: Callable[[], Sequence[int]] = list
    walker: type[Walker] = Walker  # CounterWalker for HOTP tokens
    # For wrk (bench/wrk.py), which judges by status and a text in the body:
    wrk_valid: tuple[int, str] = (200, "")
    wrk_invalid: tuple[int, str] = (401, "")


# --- CPU accounting from /proc -------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _process_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:  # noqa: PTH123
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _postgres_ticks() -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith(("postgres", "postmaster")):
            total += _process_ticks(int(entry.name))
    return total


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as f:  # noqa: PTH123
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _children(pid: int) -> list[int]:
    found = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found.extend(_children(int(child)))
    except OSError:
        pass
    return found


@dataclass
class CpuSample:
    server: int
    postgres: int
    loadgen: float
    busy: int
    total: int

    @classmethod
    def take(cls, server_pids: Sequence[int], loadgen_pids: Sequence[int] = ()) -> CpuSample:
        """``loadgen_pids``: the load generator's processes; none means this process."""
        pids = {p for root in server_pids for p in _children(root)}
        busy, total = _machine_ticks()
        loadgen = (sum(_process_ticks(p) for p in loadgen_pids) / _TICK if loadgen_pids
                   else time.process_time())
        return cls(sum(_process_ticks(p) for p in pids), _postgres_ticks(), loadgen,
                   busy, total)

    def share(self, later: CpuSample, seconds: float) -> dict[str, float]:
        """CPU used between the two samples, in cores (2.0 = both cores of a 2-core box)."""
        server = (later.server - self.server) / _TICK / seconds
        # Live backends only (one that exits takes its count along): never below zero.
        postgres = max(0.0, (later.postgres - self.postgres) / _TICK / seconds)
        loadgen = (later.loadgen - self.loadgen) / seconds
        busy = (later.busy - self.busy) / _TICK / seconds
        return {"server": round(server, 2), "postgres": round(postgres, 2),
                "loadgen": round(loadgen, 2),
                "other": round(max(0.0, busy - server - postgres - loadgen), 2),
                "busy": round(busy, 2)}


# --- one phase ------------------------------------------------------------------------------

@dataclass
class PhaseResult:
    target: str
    mode: str
    clients: int
    seconds: float
    ok: int
    unexpected: int
    transport_errors: int
    rate: float
    p50_ms: float
    p99_ms: float
    cpu: dict[str, float]
    sample_unexpected: list[str]
    warmup_ok: int = 0
    loadgen_processes: int = 1
    loadgen: str = "httpx"

    def row(self) -> dict[str, Any]:
        return self.__dict__.copy()


async def _client(http: httpx.AsyncClient, target: Target, walker: Walker, mode: str,
                  deadline: float, tally: dict[str, Any], record: bool) -> None:
    latencies: list[float] = tally["latencies"]
    while True:
        now = time.time()
        if now >= deadline:
            return
        if mode == "valid":
            i, step, code = walker.next_valid(now)
        else:
            i, code = walker.next_invalid(now)
        fields = target.body(serial_of(i), code)
        began = time.perf_counter()
        try:
            if target.form:
                response = await http.post(target.path, data=fields, headers=target.headers)
            else:
                response = await http.post(target.path, json=fields, headers=target.headers)
        except httpx.HTTPError as error:
            tally["transport"] += 1
            if len(tally["samples"]) < 5:
                tally["samples"].append(f"transport: {error!r}")
            await asyncio.sleep(0.01)
            continue
        elapsed = time.perf_counter() - began
        try:
            doc = response.json()
        except ValueError:
            doc = None
        good = (target.accepted if mode == "valid" else target.refused)(response.status_code,
                                                                         doc)
        if mode == "valid" and good:
            walker.spent(i, step, now)
        if not record:
            tally["ok"] += good
            continue
        latencies.append(elapsed)
        if good:
            tally["ok"] += 1
        else:
            tally["unexpected"] += 1
            if len(tally["samples"]) < 5:
                tally["samples"].append(f"{response.status_code} {response.text[:160]}")


async def _drive(target: Target, walkers: list[Walker], mode: str, start_at: float,
                 seconds: float) -> dict[str, Any]:
    """Warm up until ``start_at`` (wall clock), then measure for ``seconds``."""
    # One AsyncClient (one keep-alive connection) per simulated client: a single shared
    # pool costs httpx CPU that grows with the number of connections it manages.
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    https = [httpx.AsyncClient(base_url=target.base_url, limits=one,
                               timeout=httpx.Timeout(30.0)) for _ in walkers]
    try:
        scratch: dict[str, Any] = {"ok": 0, "unexpected": 0, "transport": 0,
                                   "latencies": [], "samples": []}
        if start_at > time.time():
            await asyncio.gather(*(_client(http, target, w, mode, start_at, scratch, False)
                                   for http, w in zip(https, walkers, strict=True)))
        tally: dict[str, Any] = {"ok": 0, "unexpected": 0, "transport": 0, "latencies": [],
                                 "samples": []}
        started = time.perf_counter()
        await asyncio.gather(*(_client(http, target, w, mode, start_at + seconds, tally, True)
                               for http, w in zip(https, walkers, strict=True)))
        tally["elapsed"] = time.perf_counter() - started
    finally:
        for http in https:
            await http.aclose()
    tally["warmup_ok"] = scratch["ok"]
    return tally


def _child(target: Target, walkers: list[Walker], mode: str, start_at: float, seconds: float,
           queue: Any) -> None:
    tally = asyncio.run(_drive(target, walkers, mode, start_at, seconds))
    spent = {i: walker.state[i] for walker in walkers for i in walker.indices
             if i in walker.state}
    queue.put((tally, spent))


def run_phase(target: Target, tokens: Sequence[int], state: dict[int, tuple[int, int]],
              mode: str, clients: int, seconds: float, warmup: float = 2.0,
              processes: int = 1) -> PhaseResult:
    """Measure one (target, mode, clients) cell. ``state`` maps token -> (last step, drift)
    as the server has them, and is updated with what this phase spent. With ``processes``
    > 1 the clients are spread over that many load generator processes (forked), for
    servers fast enough that one Python process cannot keep them busy."""
    walkers = []
    for c in range(clients):
        walker = target.walker(list(tokens[c::clients]))
        walker.state = state  # one shared map: each token belongs to exactly one walker
        walkers.append(walker)
    start_at = time.time() + warmup
    processes = max(1, min(processes, clients))
    if processes == 1:
        task = asyncio.run(_sampled(target, walkers, mode, start_at, seconds))
        tallies, cpu = [task[0]], task[1]
    else:
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        children = [context.Process(target=_child, args=(target, walkers[p::processes], mode,
                                                         start_at + 1.0, seconds, queue))
                    for p in range(processes)]
        for child in children:
            child.start()
        loadgen = [child.pid for child in children if child.pid is not None]
        time.sleep(max(0.0, start_at + 1.0 - time.time()))
        before = CpuSample.take(target.server_pids(), loadgen)
        time.sleep(seconds)
        results = [queue.get(timeout=seconds + 120) for _ in children]
        after = CpuSample.take(target.server_pids(), loadgen)
        for child in children:
            child.join()
        tallies = [tally for tally, _ in results]
        for _, spent in results:
            state.update(spent)
        cpu = before.share(after, seconds)
    elapsed = max(t["elapsed"] for t in tallies)
    latencies = sorted(x for t in tallies for x in t["latencies"])
    ok = sum(t["ok"] for t in tallies)
    return PhaseResult(
        target=target.name, mode=mode, clients=clients, seconds=round(elapsed, 2),
        ok=ok, unexpected=sum(t["unexpected"] for t in tallies),
        transport_errors=sum(t["transport"] for t in tallies),
        rate=round(ok / elapsed, 1),
        p50_ms=round(percentile(latencies, 0.50) * 1000, 2),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 2),
        cpu=cpu, sample_unexpected=[x for t in tallies for x in t["samples"]][:5],
        warmup_ok=sum(t["warmup_ok"] for t in tallies), loadgen_processes=processes)


async def _sampled(target: Target, walkers: list[Walker], mode: str, start_at: float,
                   seconds: float) -> tuple[dict[str, Any], dict[str, float]]:
    """One process: the CPU sample is taken by this loop at the measured window's ends."""
    holder: dict[str, CpuSample] = {}

    async def sample_at(when: float, key: str) -> None:
        await asyncio.sleep(max(0.0, when - time.time()))
        holder[key] = CpuSample.take(target.server_pids(), [])

    drive = asyncio.ensure_future(_drive(target, walkers, mode, start_at, seconds))
    await sample_at(start_at, "before")
    await sample_at(start_at + seconds, "after")
    tally = await drive
    return tally, holder["before"].share(holder["after"], seconds)
