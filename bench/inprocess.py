"""The verification service without HTTP: ``verify_code`` called from P processes × T threads.

Used to profile the fast path (``py-spy record -- python -m bench.inprocess ...``) and, until
the JSON API's verify endpoint exists, as the kinko measurement of ``make bench`` (the table
then says ``in-process``). Each process builds its kinko from settings, as a server worker does.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import threading
import time

from bench.common import Walker, contract_id_of, percentile


def _worker(url: str, master_key: str, slices: list[list[int]], mode: str, seconds: float,
            start_at: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from kinko.bootstrap import build
    from kinko.config import Settings
    from kinko.domain.errors import KinkoError
    from kinko.domain.events import Actor, Channel
    from kinko.domain.secrets import Code
    from kinko.services import verification

    os.environ.setdefault("KINKO_OTP_MAX_FAILURES", "1000000000")
    try:
        kinko = build(Settings(database_url=url, master_key=master_key))
    except Exception as error:
        queue.put(repr(error))
        raise
    ctx = kinko.ctx
    results: list[tuple[int, int, list[float]]] = []

    def client(indices: list[int]) -> None:
        walker = Walker(indices)
        ok = bad = 0
        latencies: list[float] = []
        while time.time() < start_at:
            time.sleep(0.001)
        deadline = start_at + seconds
        while True:
            now = time.time()
            if now >= deadline:
                break
            if mode == "valid":
                i, step, code = walker.next_valid(now)
            else:
                i, code = walker.next_invalid(now)
            contract_id = contract_id_of(i)
            began = time.perf_counter()
            try:
                verification.verify_code(ctx, i, Code(code),
                                         actor=Actor.customer(contract_id, Channel.API),
                                         contract_id=contract_id)
            except KinkoError as error:
                latencies.append(time.perf_counter() - began)
                if mode == "invalid" and error.code == "wrong_code":
                    ok += 1
                else:
                    bad += 1
                continue
            latencies.append(time.perf_counter() - began)
            if mode == "valid":
                walker.spent(i, step, now)
                ok += 1
            else:
                bad += 1
        results.append((ok, bad, latencies))

    threads = [threading.Thread(target=client, args=(s,)) for s in slices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kinko.close()
    queue.put(results)


def run(url: str, master_key: str, tokens: int, processes: int, clients: int, mode: str,
        seconds: float, first_token: int = 1) -> dict[str, object]:
    """Measure ``clients`` concurrent callers spread over ``processes``; one result row."""
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    indices = list(range(first_token, tokens + 1))
    slices = [indices[c::clients] for c in range(clients)]
    per_process = [slices[p::processes] for p in range(processes)]
    start_at = time.time() + 3.0 + processes  # every process built and connected by then
    children = [spawn.Process(target=_worker, args=(url, master_key, s, mode, seconds,
                                                    start_at, queue))
                for s in per_process if s]
    for child in children:
        child.start()
    collected = [queue.get(timeout=seconds + 120) for _ in children]
    failed = [c for c in collected if isinstance(c, str)]
    if failed:
        raise RuntimeError(f"a bench process failed: {failed[0]}")
    for child in children:
        child.join()
    ok = sum(r[0] for process in collected for r in process)
    bad = sum(r[1] for process in collected for r in process)
    latencies = sorted(x for process in collected for r in process for x in r[2])
    return {"ok": ok, "errors": bad, "rate": ok / seconds,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--master-key", default=os.environ.get("KINKO_MASTER_KEY", ""))
    parser.add_argument("--tokens", type=int, required=True)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--mode", choices=["valid", "invalid"], default="valid")
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.url, args.master_key, args.tokens, args.processes, args.clients,
                         args.mode, args.seconds)))


if __name__ == "__main__":
    main()
