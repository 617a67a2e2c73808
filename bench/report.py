"""Render ``bench/results.json`` as the Markdown tables of docs/performance.md.

``python -m bench.report [bench/results.json]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| database | tokens | server | codes | clients | verifications/s | p50 ms | p99 ms "
           "| unexpected | load gen. | CPU (cores): server / PostgreSQL / load gen. / others |",
           "|---|---:|---|---|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        if "rate" not in r:
            continue
        cpu = r["cpu"]
        out.append(
            f"| {r['backend']} | {r['tokens']:,} | {r['target']} | {r['mode']} | {r['clients']}"
            f" | {r['rate']:,.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f}"
            f" | {r['unexpected'] + r['transport_errors']} | {r.get('loadgen', 'httpx')}"
            f" | {cpu['server']:.2f} / {cpu['postgres']:.2f} / {cpu['loadgen']:.2f} /"
            f" {cpu['other']:.2f} |")
    return "\n".join(out)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("results.json"))
    document = json.loads(path.read_text())
    print(table(document["results"]))
    print()
    for check in (r for r in document["results"] if "checks" in r):
        print(f"- {check['backend']}, {check['tokens']:,} tokens, {check['target']}: "
              f"{check['checks']}")
    print()
    for target in document["targets"]:
        state = {True: "met", False: "not met", None: "not measured"}[target["met"]]
        figures = {k: v for k, v in target.items() if k not in ("target", "met")}
        print(f"- {target['target']}: **{state}** {figures}")


if __name__ == "__main__":
    main()
