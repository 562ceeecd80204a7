"""Planning benchmark (run it through `bench/run planning`): the day optimizer on a generated,
seeded day — 200 jobs with time windows and durations, 25 people with shifts (a lunch break
as busy time) and 5 skills, in 3 regions. No server or database: the solver alone, as the
API's schedule requests and GET /v1/schedule-optimization run it.

Prints, for greedy and for routing (OR-Tools) at BENCH_TIME_LIMIT_MS: time to the first
feasible solution and to the final one, jobs assigned, score, travel, balance, validator
violations; then the gap to a 10x longer routing run as the reference. Writes
bench/results/planning.json. Knobs: BENCH_SEED (7), BENCH_JOBS (200), BENCH_PEOPLE (25),
BENCH_TIME_LIMIT_MS (8000), BENCH_REFERENCE_FACTOR (10)."""

import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.planning.solver import Demand, Instance, Weights, Worker, solve, validate  # noqa: E402

SEED = int(os.environ.get("BENCH_SEED", "7"))
JOBS = int(os.environ.get("BENCH_JOBS", "200"))
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "25"))
LIMIT_MS = int(os.environ.get("BENCH_TIME_LIMIT_MS", "8000"))
FACTOR = int(os.environ.get("BENCH_REFERENCE_FACTOR", "10"))
SKILLS = ["electric", "gas", "water", "hvac", "network"]
REGIONS = {"north": (52.62, 13.40), "west": (52.50, 13.15), "south-east": (52.40, 13.62)}
SHIFTS = [(7 * 60, 15 * 60), (8 * 60, 16 * 60 + 30), (10 * 60, 18 * 60 + 30)]


def near(rng, centre, km):
    return (centre[0] + rng.uniform(-km, km) / 111.0, centre[1] + rng.uniform(-km, km) / 68.0)


def generate(seed: int) -> Instance:
    rng = random.Random(seed)
    workers = []
    for i in range(PEOPLE):
        region = list(REGIONS)[i % len(REGIONS)]
        start, end = rng.choice(SHIFTS)
        lunch = start + 4 * 60
        workers.append(
            Worker(
                id=f"p{i:02d}",
                skills=frozenset(rng.sample(SKILLS, rng.choice([2, 3]))),
                free=((start, lunch), (lunch + 30, end)),
                busy=((lunch, lunch + 30),),
                position=near(rng, REGIONS[region], 6),
                label=region,
            )
        )
    demands = []
    for j in range(JOBS):
        region = rng.choice(list(REGIONS))
        duration = rng.choice([20, 30, 30, 45, 45, 60, 90])
        earliest = rng.randrange(7 * 60, 17 * 60, 15)
        latest = min(18 * 60 + 30, earliest + duration + rng.choice([60, 120, 180, 240]))
        skills = {rng.choice(SKILLS)} | ({rng.choice(SKILLS)} if rng.random() < 0.15 else set())
        demands.append(
            Demand(
                id=f"job{j:03d}",
                duration=duration,
                earliest=earliest,
                latest=latest,
                skills=frozenset(skills),
                position=near(rng, REGIONS[region], 8),
                priority=rng.choice([1, 2, 2, 3, 4]),
                region=region,
            )
        )
    return Instance(workers=workers, demands=demands, weights=Weights(travel=1.0, balance=1.0, priority=1.0))


def run(instance, algorithm, limit_ms):
    started = time.perf_counter()
    solution = solve(instance, algorithm=algorithm, time_limit_ms=limit_ms)
    wall = int((time.perf_counter() - started) * 1000)
    return {
        "algorithm": solution.algorithm,
        "first_feasible_ms": solution.first_solution_ms,
        "final_ms": wall,
        "assigned": len(solution.placements),
        "unassigned": len(solution.unassigned),
        "score": solution.score,
        "travel_minutes": solution.travel_minutes,
        "travel_km": solution.travel_km,
        "balance_stddev_minutes": solution.balance,
        "violations": len(validate(instance, solution.placements)),
        "notes": solution.notes,
    }


def main():
    instance = generate(SEED)
    print(f"== planning: seed {SEED}, {JOBS} jobs, {PEOPLE} people, 5 skills, 3 regions; limit {LIMIT_MS} ms")
    greedy = run(instance, "greedy", LIMIT_MS)
    routing = run(instance, "routing", LIMIT_MS)
    print(f"   (reference: routing at {FACTOR}x the limit, {LIMIT_MS * FACTOR / 1000:.0f} s …)")
    reference = run(instance, "routing", LIMIT_MS * FACTOR)
    rows = [("greedy", greedy), ("routing", routing), (f"routing x{FACTOR}", reference)]
    print(
        f"{'':14} {'first ms':>9} {'final ms':>9} {'assigned':>9} {'score':>7} {'travel min':>11} "
        f"{'km':>8} {'balance':>8} {'violations':>10}"
    )
    for name, r in rows:
        print(
            f"{name:14} {r['first_feasible_ms']:>9} {r['final_ms']:>9} {r['assigned']:>9} {r['score']:>7.2f} "
            f"{r['travel_minutes']:>11} {r['travel_km']:>8.1f} {r['balance_stddev_minutes']:>8.1f} "
            f"{r['violations']:>10}"
        )

    def per_job(r):
        return r["travel_minutes"] / max(1, r["assigned"])

    travel_vs_greedy = 100.0 * (1 - routing["travel_minutes"] / max(1, greedy["travel_minutes"]))
    per_job_vs_greedy = 100.0 * (1 - per_job(routing) / max(1e-9, per_job(greedy)))
    gap = 100.0 * (routing["travel_minutes"] - reference["travel_minutes"]) / max(1, reference["travel_minutes"])
    summary = {
        "travel_below_greedy_pct": round(travel_vs_greedy, 1),
        "travel_per_job_below_greedy_pct": round(per_job_vs_greedy, 1),
        "travel_gap_to_reference_pct": round(gap, 1),
        "score_gap_to_reference": round(reference["score"] - routing["score"], 2),
        "balance_vs_greedy_minutes": round(routing["balance_stddev_minutes"] - greedy["balance_stddev_minutes"], 1),
    }
    print(
        f"travel vs greedy: {summary['travel_below_greedy_pct']}% lower in total, "
        f"{summary['travel_per_job_below_greedy_pct']}% lower per assigned job"
    )
    print(
        f"gap to the x{FACTOR} reference: travel {summary['travel_gap_to_reference_pct']}%, "
        f"score {summary['score_gap_to_reference']} points"
    )
    print(
        f"balance (std dev of worked minutes): greedy {greedy['balance_stddev_minutes']}, "
        f"routing {routing['balance_stddev_minutes']}"
    )
    out = ROOT / "bench" / "results" / "planning.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "seed": SEED,
                "jobs": JOBS,
                "people": PEOPLE,
                "limit_ms": LIMIT_MS,
                "greedy": greedy,
                "routing": routing,
                "reference": reference,
                **summary,
            },
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
