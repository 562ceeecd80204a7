"""What both algorithms and the validator share: effective free windows, who may take a
demand (and why nobody may), and the measures of a solution."""

import statistics

from apps.planning.solver.instance import (
    PRIORITY_VALUE,
    Demand,
    Instance,
    Placement,
    Unassigned,
    Worker,
    haversine_km,
)


def merge(windows) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(windows):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def subtract(windows, cuts) -> list[tuple[int, int]]:
    result = []
    for start, end in windows:
        pieces = [(start, end)]
        for c_start, c_end in cuts:
            next_pieces = []
            for a, b in pieces:
                if c_end <= a or c_start >= b:
                    next_pieces.append((a, b))
                    continue
                if a < c_start:
                    next_pieces.append((a, c_start))
                if c_end < b:
                    next_pieces.append((c_end, b))
            pieces = next_pieces
        result += pieces
    return merge(result)


def open_windows(instance: Instance) -> dict[str, list[tuple[int, int]]]:
    """Each worker's free windows minus their pinned work: the time left to plan."""
    pinned: dict[str, list[tuple[int, int]]] = {}
    for pin in instance.pinned:
        pinned.setdefault(pin.worker_id, []).append((pin.start, pin.end))
    return {w.id: subtract(w.free, pinned.get(w.id, [])) for w in instance.workers}


def fits(demand: Demand, windows) -> bool:
    return any(max(a, demand.earliest) + demand.duration <= min(b, demand.latest) for a, b in windows)


def eligibility(instance: Instance) -> tuple[dict[str, list[Worker]], list[Unassigned]]:
    """Demand id → workers who have its skills and an open window that fits it; the rest
    are unassigned with the reason nobody can take them."""
    windows = open_windows(instance)
    pinned_ids = {p.demand_id for p in instance.pinned}
    eligible: dict[str, list[Worker]] = {}
    unassigned: list[Unassigned] = []
    for demand in instance.demands:
        if demand.id in pinned_ids:
            continue
        skilled = [w for w in instance.workers if demand.skills <= w.skills]
        if not skilled:
            missing = sorted(demand.skills - set().union(*(w.skills for w in instance.workers)))
            detail = f"nobody has {', '.join(missing) or 'the skills'}" if missing else "nobody has every skill needed"
            unassigned.append(Unassigned(demand.id, "skill_missing", detail))
            continue
        if demand.earliest + demand.duration > demand.latest:
            unassigned.append(Unassigned(demand.id, "outside_availability", "its window is shorter than its duration"))
            continue
        free = [w for w in skilled if fits(demand, windows[w.id])]
        if not free:
            unassigned.append(
                Unassigned(demand.id, "outside_availability", f"none of {len(skilled)} skilled people is free then")
            )
            continue
        eligible[demand.id] = free
    return eligible, unassigned


def dropped_reason(instance: Instance, demand: Demand, workers: list[Worker]) -> Unassigned:
    """Why a demand someone could take was left out by the optimizer."""
    windows = open_windows(instance)
    for worker in workers:
        travel = instance.travel(worker.position, demand.position)
        first = worker.free[0][0] if worker.free else 0
        shifted = Demand(**{**demand.__dict__, "earliest": max(demand.earliest, first + travel)})
        if fits(shifted, windows[worker.id]):
            return Unassigned(demand.id, "over_capacity", f"{len(workers)} eligible people are fully booked")
    return Unassigned(demand.id, "travel_infeasible", "no eligible person can get there within its window")


def measure(instance: Instance, placements: list[Placement]) -> dict:
    """Travel (minutes, km), balance (std dev of worked minutes) and the score: the share of
    priority-weighted demand assigned, 0–100."""
    positions = {d.id: d.position for d in instance.demands}
    positions.update({p.demand_id: p.position for p in instance.pinned if p.position is not None})
    workers = {w.id: w for w in instance.workers}
    routes: dict[str, list[Placement]] = {}
    for placement in placements:
        routes.setdefault(placement.worker_id, []).append(placement)
    travel_min, travel_km = 0, 0.0
    for worker_id, route in routes.items():
        route.sort(key=lambda p: p.start)
        here = workers[worker_id].position if worker_id in workers else None
        for placement in route:
            there = positions.get(placement.demand_id)
            travel_min += instance.travel(here, there)
            travel_km += haversine_km(here, there)
            here = there
    load = {w.id: 0 for w in instance.workers if w.free}
    for placement in placements:
        if placement.worker_id in load:
            load[placement.worker_id] += placement.end - placement.start
    value = {d.id: PRIORITY_VALUE.get(d.priority, 1) for d in instance.demands}
    total = sum(value.values())
    done = sum(value.get(p.demand_id, 0) for p in placements)
    return {
        "travel_minutes": travel_min,
        "travel_km": round(travel_km, 2),
        "balance": round(statistics.pstdev(load.values()), 2) if len(load) > 1 else 0.0,
        "score": round(100.0 * done / total, 2) if total else 100.0,
    }
