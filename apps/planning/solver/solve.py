"""One entry point: the chosen algorithm, checked by the validator, greedy as the fallback."""

import logging
import time

from apps.planning.solver.greedy import solve_greedy
from apps.planning.solver.instance import Instance, Solution
from apps.planning.solver.routing import solve_routing
from apps.planning.solver.validate import validate

logger = logging.getLogger(__name__)

ALGORITHMS = ("routing", "greedy")


def solve(instance: Instance, *, algorithm: str = "routing", time_limit_ms: int = 5000) -> Solution:
    """Never returns a solution the validator rejects: a routing answer that fails it (or no
    answer in time) is replaced by the greedy one, marked in `notes`."""
    started = time.perf_counter()
    solution = None
    if algorithm == "routing":
        solution = solve_routing(instance, time_limit_ms=time_limit_ms)
        if solution is None:
            logger.warning("routing found no solution in %s ms; falling back to greedy", time_limit_ms)
        elif violations := validate(instance, solution.placements):
            logger.error("routing solution failed validation (%s); falling back to greedy", violations[:3])
            solution = None
    if solution is None:
        fallback = algorithm != "greedy"
        solution = solve_greedy(instance)
        if fallback:
            solution.notes.append("routing found no valid solution in time; greedy fallback")
            solution.duration_ms = int((time.perf_counter() - started) * 1000)
    violations = validate(instance, solution.placements)
    if violations:  # the greedy construction is feasible by design; report, never hide
        solution.status = "failed"
        solution.notes += [f"{v.type}: {v.demand_id} on {v.worker_id}: {v.detail}" for v in violations]
    return solution
