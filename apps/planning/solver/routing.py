"""`algorithm=routing`: the day as a vehicle-routing problem with time windows, solved by
Google OR-Tools' routing library (constraint programming + guided local search).

People are vehicles that start at their home (else work base) when their first free window
opens and end anywhere (open routes); their busy gaps are fixed breaks no visit may overlap;
a demand is a visit with a service time, a time window and the people allowed to take it
(skills and free time); pinned work is a mandatory visit fixed in time on its person. Leaving
a demand out costs a penalty by priority that dwarfs any travel, so the solver assigns as
much as it can by priority first, then minimises travel (arc cost) and balances load (a soft
upper bound on each person's worked minutes at the fair share)."""

import math
import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from apps.planning.solver.common import dropped_reason, eligibility, measure, merge
from apps.planning.solver.instance import PRIORITY_VALUE, Instance, Placement, Solution
from apps.planning.solver.validate import day_start

HORIZON = 2 * 24 * 60
TRAVEL_SCALE = 10  # cost units per travel minute at weight 1
BALANCE_SCALE = 2  # cost units per minute above the fair share at weight 1
DROP_PENALTY = 1_000_000  # per priority value: more than any travel a visit could save


def solve_routing(instance: Instance, *, time_limit_ms: int = 5000) -> Solution | None:
    """None when no solution was found within the limit (the caller falls back)."""
    started = time.perf_counter()
    eligible, unassigned = eligibility(instance)
    pinned_by_worker: dict[str, list] = {}
    for pin in instance.pinned:
        pinned_by_worker.setdefault(pin.worker_id, []).append(pin)
    vehicles = [w for w in instance.workers if w.free or pinned_by_worker.get(w.id)]
    vehicle_of = {w.id: v for v, w in enumerate(vehicles)}
    demands = [d for d in instance.demands if d.id in eligible]
    pins = [p for p in instance.pinned if p.worker_id in vehicle_of]
    n_v = len(vehicles)
    if n_v == 0:
        return None
    # nodes: 2 per vehicle (start, end), then demands, then pinned visits
    positions = [w.position for w in vehicles] + [None] * n_v
    positions += [d.position for d in demands] + [p.position for p in pins]
    service = [0] * (2 * n_v) + [d.duration for d in demands] + [p.end - p.start for p in pins]
    first_demand, first_pin = 2 * n_v, 2 * n_v + len(demands)
    n_nodes = first_pin + len(pins)
    is_end = [False] * n_v + [True] * n_v + [False] * (n_nodes - 2 * n_v)
    is_pin = [False] * first_pin + [True] * len(pins)
    travel = [[0] * n_nodes for _ in range(n_nodes)]
    for i in range(n_nodes):
        for j in range(n_nodes):
            if i != j and not is_end[j] and not is_end[i]:
                travel[i][j] = instance.travel(positions[i], positions[j])

    manager = pywrapcp.RoutingIndexManager(n_nodes, n_v, list(range(n_v)), list(range(n_v, 2 * n_v)))
    routing = pywrapcp.RoutingModel(manager)

    w = instance.weights
    travel_coef = max(0, round(w.travel * TRAVEL_SCALE))

    def cost(from_index, to_index):
        return travel[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)] * travel_coef

    def transit(from_index, to_index):
        i, j = manager.IndexToNode(from_index), manager.IndexToNode(to_index)
        return service[i] + (0 if is_pin[j] else travel[i][j])

    def work(from_index):
        return service[manager.IndexToNode(from_index)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(cost))
    routing.AddDimension(routing.RegisterTransitCallback(transit), HORIZON, HORIZON, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    routing.AddDimension(routing.RegisterUnaryTransitCallback(work), 0, HORIZON, True, "work")
    work_dim = routing.GetDimensionOrDie("work")

    for offset, demand in enumerate(demands):
        index = manager.NodeToIndex(first_demand + offset)
        time_dim.CumulVar(index).SetRange(demand.earliest, demand.latest - demand.duration)
        # -1: unperformed (SetAllowedVehiclesForIndex's Span binding is broken in this wheel)
        routing.VehicleVar(index).SetValues([-1] + [vehicle_of[x.id] for x in eligible[demand.id]])
        penalty = DROP_PENALTY * PRIORITY_VALUE.get(demand.priority, 1) * max(w.priority, 0.01)
        routing.AddDisjunction([index], int(penalty))
    for offset, pin in enumerate(pins):
        index = manager.NodeToIndex(first_pin + offset)
        time_dim.CumulVar(index).SetRange(pin.start, pin.start)
        routing.VehicleVar(index).SetValue(vehicle_of[pin.worker_id])

    solver = routing.solver()
    visit_transits = [service[manager.IndexToNode(i)] for i in range(routing.Size())] + [0] * n_v
    total_work = sum(d.duration for d in demands)
    fair_share = math.ceil(total_work / n_v) if n_v else 0
    for v, worker in enumerate(vehicles):
        windows = merge(list(worker.free) + [(p.start, p.end) for p in pinned_by_worker.get(worker.id, [])])
        start, end = day_start(instance, worker), windows[-1][1]
        time_dim.CumulVar(routing.Start(v)).SetRange(start, end)
        time_dim.CumulVar(routing.End(v)).SetRange(start, end)
        breaks = [
            solver.FixedDurationIntervalVar(a_end, a_end, b_start - a_end, False, f"busy-{v}-{k}")
            for k, ((_, a_end), (b_start, _)) in enumerate(zip(windows, windows[1:], strict=False))
        ]
        if breaks:
            time_dim.SetBreakIntervalsOfVehicle(breaks, v, visit_transits[: routing.Size()])
        if w.balance > 0:
            work_dim.SetCumulVarSoftUpperBound(routing.End(v), fair_share, max(1, round(w.balance * BALANCE_SCALE)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(v)))
    for i in range(routing.Size()):
        if not routing.IsStart(i) and not routing.IsEnd(i):
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(i))

    first_found: list[float] = []
    routing.AddAtSolutionCallback(lambda: first_found or first_found.append(time.perf_counter()))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(50, int(time_limit_ms - (time.perf_counter() - started) * 1000)))
    result = routing.SolveWithParameters(params)
    if result is None:
        return None

    placements, assigned = [], set()
    for v, worker in enumerate(vehicles):
        index = result.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            begin = result.Value(time_dim.CumulVar(index))
            if node >= first_pin:
                pin = pins[node - first_pin]
                placements.append(Placement(pin.demand_id, worker.id, pin.start, pin.end))
            else:
                demand = demands[node - first_demand]
                placements.append(Placement(demand.id, worker.id, begin, begin + demand.duration))
                assigned.add(demand.id)
            index = result.Value(routing.NextVar(index))
    for demand in demands:
        if demand.id not in assigned:
            unassigned.append(dropped_reason(instance, demand, eligible[demand.id]))
    now = time.perf_counter()
    return Solution(
        algorithm="routing",
        placements=placements,
        unassigned=unassigned,
        first_solution_ms=int(((first_found[0] if first_found else now) - started) * 1000),
        duration_ms=int((now - started) * 1000),
        **measure(instance, placements),
    )
