"""The load generator in C: ``wrk`` (Debian's package) sends the requests, and this module
writes the request bodies it sends and reads back what it measured.

The asyncio + httpx generator (``bench/loadgen.py``) costs about 1.2 ms of CPU per request
on this kind of machine, more than the floor's server does; on two cores it caps both
servers before they are busy. wrk costs a few tens of microseconds per request.

wrk cannot compute TOTP codes, so the bodies are written beforehand, one file per wrk
thread (``bench/wrk_verify.lua`` reads them): thread ``t`` owns the tokens ``t``,
``t + T``, ... and sends them round after round; in round ``r`` a token's code is the one
for its first fresh step plus ``r`` (the way HOTP counters advance, as ``common.Walker``
does), so every request is a fresh valid code that exercises the replay check. Within a
thread a token comes round only after all of the thread's other tokens, so its previous
code has always been answered. Before each run the state is read back from the database
(the server's own record of each token's last step and drift).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path

from bench.common import PERIOD, hotp, seed_of, serial_of, wrong_code
from bench.loadgen import CpuSample, PhaseResult, Target

SCRIPT = Path(__file__).with_name("wrk_verify.lua")
#: Bodies written per thread: enough for this many requests per second over the run, so a
#: thread never runs out (it would say so: "exhausted"). The floor on SQLite with a
#: million tokens answers about 8,000 a second on two cores.
CEILING_PER_SECOND = 25_000
#: Distinct tokens used for wrong codes (they can repeat: a wrong code is never spent).
INVALID_TOKENS = 20_000

#: Seconds to let the requests wrk left in flight finish before the state is read again.
SETTLE = 1.0

State = dict[int, tuple[int, int]]


def available() -> bool:
    return shutil.which("wrk") is not None


def _first_step(token: int, state: State, current: int) -> int:
    last, drift = state.get(token, (None, 0))
    return current + drift if last is None else max(last + 1, current + drift)


def write_bodies(prefix: Path, target: Target, tokens: Sequence[int], state: State,
                 mode: str, threads: int, seconds: float) -> None:
    """Write ``prefix.0`` .. ``prefix.{threads-1}``: each thread's bodies, in sending order."""
    per_thread = int(CEILING_PER_SECOND * seconds / threads) + 1
    current = int(time.time() // PERIOD)
    for t in range(threads):
        mine = tokens[t::threads]
        lines: list[str] = []
        if mode == "invalid":  # a wrong code is never spent: the same ones, round after round
            wrong = [json.dumps(target.body(serial_of(token), wrong_code(
                         seed_of(serial_of(token)), current + state.get(token, (0, 0))[1])))
                     for token in mine[:INVALID_TOKENS // threads]]
            lines = wrong * (per_thread // len(wrong) + 1)
        else:
            # (serial, seed, first fresh step) of each token this thread will send
            used = [(serial_of(token), _first_step(token, state, current))
                    for token in islice(mine, per_thread)]
            prepared = [(serial, seed_of(serial), first) for serial, first in used]
            round_ = 0
            while len(lines) < per_thread:
                lines.extend(json.dumps(target.body(serial, hotp(seed, first + round_)))
                             for serial, seed, first in prepared)
                round_ += 1
        Path(f"{prefix}.{t}").write_text("\n".join(lines[:per_thread]) + "\n")


def _expectation(target: Target, mode: str) -> tuple[int, str]:
    status, needle = target.wrk_valid if mode == "valid" else target.wrk_invalid
    return status, needle or "-"


def _run(target: Target, prefix: Path, mode: str, clients: int, threads: int,
         seconds: float, sample_cpu: bool) -> tuple[dict[str, float | int | str],
                                                    dict[str, float]]:
    status, needle = _expectation(target, mode)
    authorization = target.headers.get("Authorization", "-")
    argv = ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{max(1, round(seconds))}s",
            "--timeout", "10s", "-s", str(SCRIPT), target.base_url + target.path, "--",
            str(prefix), authorization, str(status), needle]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    cpu: dict[str, float] = {}
    if sample_cpu:
        # Sample inside the run (wrk's own CPU is only readable while it lives).
        margin = min(0.5, seconds / 10)
        time.sleep(margin)
        before = CpuSample.take(target.server_pids(), [process.pid])
        time.sleep(seconds - 2 * margin)
        after = CpuSample.take(target.server_pids(), [process.pid])
        cpu = before.share(after, seconds - 2 * margin)
    output, _ = process.communicate(timeout=seconds + 60)
    line = next((x for x in output.splitlines() if x.startswith("RESULT ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output[-2000:]}")
    return json.loads(line.removeprefix("RESULT ")), cpu


def run_phase(target: Target, tokens: Sequence[int], state_of: Callable[[], State],
              mode: str, clients: int, seconds: float, warmup: float,
              workdir: Path) -> PhaseResult:
    """Warm up for ``warmup`` seconds, then measure ``seconds``: one (target, mode, clients)
    cell. ``state_of`` reads each token's (last step, drift) as the server has them now."""
    threads = min(clients, 2)
    prefix = workdir / f"wrk-{target.name}-{mode}-{clients}"
    warmup_ok = 0
    if warmup > 0:
        write_bodies(prefix, target, tokens, state_of(), mode, threads, warmup)
        warm, _ = _run(target, prefix, mode, clients, threads, warmup, sample_cpu=False)
        warmup_ok = int(warm["ok"])
        time.sleep(SETTLE)
    write_bodies(prefix, target, tokens, state_of(), mode, threads, seconds)
    measured, cpu = _run(target, prefix, mode, clients, threads, seconds, sample_cpu=True)
    for t in range(threads):
        Path(f"{prefix}.{t}").unlink(missing_ok=True)
    elapsed = int(measured["duration_us"]) / 1e6
    ok = int(measured["ok"])
    samples = [str(measured["sample"])] if measured["sample"] else []
    if int(measured["exhausted"]):
        samples.insert(0, f"wrk ran out of bodies {measured['exhausted']} times")
    return PhaseResult(
        target=target.name, mode=mode, clients=clients, seconds=round(elapsed, 2), ok=ok,
        unexpected=int(measured["unexpected"]),
        transport_errors=int(measured["transport_errors"]),
        rate=round(ok / elapsed, 1),
        p50_ms=round(int(measured["p50_us"]) / 1000, 2),
        p99_ms=round(int(measured["p99_us"]) / 1000, 2),
        cpu=cpu, sample_unexpected=samples[:5], warmup_ok=warmup_ok, loadgen_processes=0,
        loadgen="wrk")
