"""The optimizer's data: plain dataclasses, times in whole minutes from the start of the day."""

import math
from dataclasses import dataclass, field

EARTH_RADIUS_KM = 6371.0
#: Priority weights: how much one assigned demand of each priority is worth.
PRIORITY_VALUE = {1: 1, 2: 2, 3: 4, 4: 8}


def haversine_km(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float:
    """Great-circle distance; 0 when either position is unknown (no travel can be planned)."""
    if a is None or b is None:
        return 0.0
    lat1, lng1, lat2, lng2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Weights:
    """Objective weights of a request: assigning by priority dominates, then travel and
    balance trade off by these factors (0 switches a term off)."""

    travel: float = 1.0
    balance: float = 1.0
    priority: float = 1.0


@dataclass(frozen=True)
class Worker:
    id: str
    skills: frozenset[str]
    free: tuple[tuple[int, int], ...]  # sorted, disjoint [start, end) windows
    position: tuple[float, float] | None = None  # start position (home, else work base)
    label: str = ""
    busy: tuple[tuple[int, int], ...] = ()  # for the validator's wording: double-booked vs off shift


@dataclass(frozen=True)
class Demand:
    id: str  # "entry:<id>", "booking:<id>", "incident:<id>"
    duration: int
    earliest: int  # window: start >= earliest, end <= latest
    latest: int
    skills: frozenset[str] = frozenset()
    position: tuple[float, float] | None = None
    priority: int = 2  # 1 low … 4 urgent
    label: str = ""
    region: str = ""


@dataclass(frozen=True)
class Pinned:
    """A kept assignment: the solver must not move it (it counts as busy, with a position)."""

    demand_id: str
    worker_id: str
    start: int
    end: int
    position: tuple[float, float] | None = None


@dataclass
class Instance:
    workers: list[Worker]
    demands: list[Demand]
    pinned: list[Pinned] = field(default_factory=list)
    speed_kmh: float = 40.0
    weights: Weights = field(default_factory=Weights)

    def travel(self, a, b) -> int:
        """Whole minutes from position a to b, rounded up."""
        km = haversine_km(a, b)
        return math.ceil(km / self.speed_kmh * 60) if km else 0


@dataclass(frozen=True)
class Placement:
    demand_id: str
    worker_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Unassigned:
    demand_id: str
    reason: str  # skill_missing | outside_availability | over_capacity | travel_infeasible
    detail: str = ""


@dataclass
class Solution:
    algorithm: str
    placements: list[Placement]
    unassigned: list[Unassigned]
    status: str = "succeeded"  # succeeded | partial (fallback used) | failed
    travel_minutes: int = 0
    travel_km: float = 0.0
    score: float = 0.0
    balance: float = 0.0  # standard deviation of worked minutes across workers with work time
    first_solution_ms: int = 0
    duration_ms: int = 0
    notes: list[str] = field(default_factory=list)

    def by_worker(self) -> dict[str, list[Placement]]:
        routes: dict[str, list[Placement]] = {}
        for placement in self.placements:
            routes.setdefault(placement.worker_id, []).append(placement)
        for route in routes.values():
            route.sort(key=lambda p: p.start)
        return routes
