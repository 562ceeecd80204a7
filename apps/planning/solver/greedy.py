"""Greedy construction (`algorithm=greedy`): demands by priority, then by deadline, each put
where it adds the least travel (cheapest insertion into any eligible person's day, ties to
the less loaded person). Kept for comparison and as the fallback when the routing solver
finds nothing in time."""

import time

from apps.planning.solver.common import dropped_reason, eligibility, measure, open_windows
from apps.planning.solver.instance import Demand, Instance, Placement, Solution
from apps.planning.solver.validate import day_start


def _earliest_start(demand: Demand, not_before: int, windows) -> int | None:
    for a, b in windows:
        start = max(a, not_before, demand.earliest)
        if start + demand.duration <= min(b, demand.latest):
            return start
    return None


def solve_greedy(instance: Instance) -> Solution:
    started = time.perf_counter()
    eligible, unassigned = eligibility(instance)
    windows = open_windows(instance)
    workers = {w.id: w for w in instance.workers}
    # a route: [(start, end, position, demand_id, pinned)], sorted by start
    routes: dict[str, list[tuple]] = {w.id: [] for w in instance.workers}
    for pin in instance.pinned:
        if pin.worker_id in routes:
            routes[pin.worker_id].append((pin.start, pin.end, pin.position, pin.demand_id, True))
    for route in routes.values():
        route.sort(key=lambda r: r[0])
    load = {w.id: sum(r[1] - r[0] for r in routes[w.id]) for w in instance.workers}
    demands = sorted(
        (d for d in instance.demands if d.id in eligible), key=lambda d: (-d.priority, d.latest, d.earliest, d.id)
    )
    w_travel = instance.weights.travel
    for demand in demands:
        best = None
        for worker in eligible[demand.id]:
            route = routes[worker.id]
            for index in range(len(route) + 1):
                prev = route[index - 1] if index else None
                nxt = route[index] if index < len(route) else None
                prev_end = prev[1] if prev else day_start(instance, worker)
                prev_pos = prev[2] if prev else worker.position
                into = instance.travel(prev_pos, demand.position)
                start = _earliest_start(demand, prev_end + into, windows[worker.id])
                if start is None:
                    continue
                end = start + demand.duration
                added = into
                if nxt is not None:
                    onward = 0 if nxt[4] else instance.travel(demand.position, nxt[2])
                    if end + onward > nxt[0]:
                        continue
                    added += onward - (0 if nxt[4] else instance.travel(prev_pos, nxt[2]))
                key = (added * w_travel, load[worker.id], worker.id, index)
                if best is None or key < best[0]:
                    best = (key, worker.id, index, start, end)
        if best is None:
            unassigned.append(dropped_reason(instance, demand, eligible[demand.id]))
            continue
        _, worker_id, index, start, end = best
        routes[worker_id].insert(index, (start, end, demand.position, demand.id, False))
        load[worker_id] += end - start
    placements = [
        Placement(demand_id=r[3], worker_id=worker_id, start=r[0], end=r[1])
        for worker_id, route in routes.items()
        for r in route
        if worker_id in workers
    ]
    elapsed = int((time.perf_counter() - started) * 1000)
    return Solution(
        algorithm="greedy",
        placements=placements,
        unassigned=unassigned,
        first_solution_ms=elapsed,
        duration_ms=elapsed,
        **measure(instance, placements),
    )
