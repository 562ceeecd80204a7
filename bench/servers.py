"""Serving options, side by side (run it through `bench/run servers`).

Uses the foundation's data (database schedkit_bench_servers). For each way of serving
(BENCH_SERVERS, default: uvicorn, gunicorn, granian, granian-wsgi) it starts the bare
reference and SchedKit with the same number of processes, and drives, interleaved so that
load from elsewhere hits both alike:

  bare GET /json   vs  SchedKit GET /healthz
  bare GET /drf    vs  SchedKit GET /v1/orgs/demo/members (API key, 50 rows)

Prints req/s and p99 per pair, each SchedKit figure as % of the bare one of the same
server, and each bare figure as % of bare-on-gunicorn (the fastest plain Django we know);
writes bench/results/servers.json.
"""

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import foundation as fd  # noqa: E402

fd.configure("servers", 11)
KINDS = os.environ.get("BENCH_SERVERS", "uvicorn,gunicorn,granian,granian-wsgi").split(",")
# gunicorn and granian are bench-only (not in requirements.txt): pinned here, skipped if absent.
OPTIONAL = {"gunicorn": "gunicorn==27.0.1", "granian": "granian==2.8.7", "granian-wsgi": "granian==2.8.7"}


def available(kind: str) -> bool:
    module = kind.split("-")[0]
    found = importlib.util.find_spec(module) is not None
    if not found:
        print(f"!! skipping {kind}: pip install {OPTIONAL.get(kind, module)} to include it", flush=True)
    return found


PAIRS = (("/json", "/healthz", None), ("/drf", f"/v1/orgs/{fd.ORG}/members", fd.BENCH / "auth.lua"))


def main() -> int:
    fd.check_tools()
    key = fd.prepare_data()
    busy = fd.warn_if_busy()
    fd.signal.signal(fd.signal.SIGTERM, lambda *_: sys.exit(143))
    env = {**os.environ, "BENCH_API_KEY": key}
    results: dict = {}
    kinds = [kind for kind in KINDS if available(kind)]
    for kind in kinds:
        bare = fd.Server(fd.WORKERS, fd.RESULTS / f"server-servers-{kind}-bare.log", kind=kind, project="bare")
        sk = fd.Server(fd.WORKERS, fd.RESULTS / f"server-servers-{kind}.log", kind=kind)
        try:
            bare.start()
            sk.start()
            for bare_path, sk_path, script in PAIRS:
                results[(kind, bare_path)] = {
                    "endpoint": f"{kind} bare GET {bare_path}",
                    **fd.measure(f"servers-{kind}-bare{bare_path.replace('/', '-')}", bare.base + bare_path, None, env),
                }
                results[(kind, sk_path)] = {
                    "endpoint": f"{kind} GET {sk_path}",
                    **fd.measure(f"servers-{kind}{sk_path.replace('/', '-')}", sk.base + sk_path, script, env),
                }
        finally:
            sk.stop()
            bare.stop()

    print()
    rows = []
    for kind in kinds:
        for bare_path, sk_path, _ in PAIRS:
            reference = results.get(("gunicorn", bare_path)) if kind != "gunicorn" else None
            rows.append((results[(kind, bare_path)], reference))
            rows.append((results[(kind, sk_path)], results[(kind, bare_path)]))
    fd.print_table(
        rows,
        f"Serving options: {fd.WORKERS} processes each, wrk -c{fd.CONNECTIONS} -d{fd.DURATION}, {os.cpu_count()} cores "
        f"(CPU busy before: {busy:.0f} %); SchedKit as % of bare on the same server, bare as % of bare on gunicorn",
    )
    out = fd.RESULTS / "servers.json"
    summary = {
        "benchmark": "servers",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "workers": fd.WORKERS,
        "cpu_busy_pct_before": round(busy, 1),
        "results": {f"{kind} {path}": figures for (kind, path), figures in results.items()},
    }
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {out.relative_to(fd.ROOT)}")
    return 0


if __name__ == "__main__":
    fd.run_main(main)
