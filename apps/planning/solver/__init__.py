"""The day optimizer, free of Django: an `Instance` (workers with free windows, skills and a
start position; demands with a duration, a time window, skills, a position and a priority;
pinned assignments) goes in, a `Solution` comes out. `routing` solves it with OR-Tools'
vehicle-routing library, `greedy` is the construction kept for comparison and as the fallback,
and `validate` checks any solution independently of both."""

from apps.planning.solver.instance import (
    Demand,
    Instance,
    Pinned,
    Placement,
    Solution,
    Unassigned,
    Weights,
    Worker,
)
from apps.planning.solver.solve import ALGORITHMS, solve
from apps.planning.solver.validate import Violation, validate

__all__ = [
    "ALGORITHMS",
    "Demand",
    "Instance",
    "Pinned",
    "Placement",
    "Solution",
    "Unassigned",
    "Violation",
    "Weights",
    "Worker",
    "solve",
    "validate",
]
