"""An independent check of any solution: it knows only the instance and the placements, not
how they were found. Every solution the API returns passes through it."""

from dataclasses import dataclass

from apps.planning.solver.instance import Instance, Placement


@dataclass(frozen=True)
class Violation:
    type: str  # double_booked | skill_missing | outside_availability | travel_infeasible | unknown_demand
    demand_id: str
    worker_id: str
    detail: str


def _inside(start: int, end: int, windows) -> bool:
    return any(a <= start and end <= b for a, b in windows)


def day_start(instance: Instance, worker) -> int:
    """A worker sets off at the start of their first free window or pinned work. Travel into
    pinned work is not checked (a person placed it), travel out of it is."""
    starts = [a for a, _ in worker.free] + [p.start for p in instance.pinned if p.worker_id == worker.id]
    return min(starts) if starts else 0


def validate(instance: Instance, placements: list[Placement]) -> list[Violation]:
    demands = {d.id: d for d in instance.demands}
    workers = {w.id: w for w in instance.workers}
    pinned = {p.demand_id: p for p in instance.pinned}
    positions = {d.id: d.position for d in instance.demands}
    positions.update({p.demand_id: p.position for p in instance.pinned})
    violations: list[Violation] = []
    seen: set[str] = set()

    def bad(kind, placement, detail):
        violations.append(Violation(kind, placement.demand_id, placement.worker_id, detail))

    for placement in placements:
        if placement.demand_id in seen:
            bad("double_booked", placement, "the demand is assigned twice")
        seen.add(placement.demand_id)
        worker = workers.get(placement.worker_id)
        demand = demands.get(placement.demand_id)
        pin = pinned.get(placement.demand_id)
        if worker is None or (demand is None and pin is None):
            bad("unknown_demand", placement, "unknown person or demand")
            continue
        if pin is not None:
            if (pin.worker_id, pin.start, pin.end) != (placement.worker_id, placement.start, placement.end):
                bad("outside_availability", placement, "a pinned assignment was moved")
            continue
        if placement.end - placement.start != demand.duration:
            bad("outside_availability", placement, "the duration differs from the demand's")
        if not demand.skills <= worker.skills:
            bad("skill_missing", placement, f"missing {', '.join(sorted(demand.skills - worker.skills))}")
        if placement.start < demand.earliest or placement.end > demand.latest:
            bad("outside_availability", placement, "outside the demand's time window")
        if not _inside(placement.start, placement.end, worker.free):
            if any(a < placement.end and placement.start < b for a, b in worker.busy):
                bad("double_booked", placement, "overlaps other work of the person")
            else:
                bad("outside_availability", placement, "outside the person's shift or availability")
    for pin in instance.pinned:
        if pin.demand_id not in seen:
            violations.append(
                Violation("outside_availability", pin.demand_id, pin.worker_id, "a pinned assignment was dropped")
            )

    routes: dict[str, list[Placement]] = {}
    for placement in placements:
        routes.setdefault(placement.worker_id, []).append(placement)
    for worker_id, route in routes.items():
        worker = workers.get(worker_id)
        if worker is None:
            continue
        route.sort(key=lambda p: (p.start, p.end))
        here, free_at = worker.position, day_start(instance, worker)
        for index, placement in enumerate(route):
            there = positions.get(placement.demand_id)
            if index and placement.start < route[index - 1].end:
                bad("double_booked", placement, f"overlaps {route[index - 1].demand_id}")
            elif placement.demand_id not in pinned and placement.start < free_at + instance.travel(here, there):
                bad("travel_infeasible", placement, "not enough time to travel there")
            here = there  # an unknown position plans no travel, to or from it
            free_at = max(free_at, placement.end)
    return violations
