"""The optimizer on generated days: whatever the instance, every solution passes the
independent validator (skills, windows, free time, no overlaps, travel), pinned work stays,
and every demand is either placed once or reported unassigned with a reason."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.planning.solver import Demand, Instance, Pinned, Placement, Weights, Worker, solve, validate
from apps.planning.solver.common import measure

SKILLS = ("electric", "gas", "water")
REASONS = {"skill_missing", "outside_availability", "over_capacity", "travel_infeasible"}


def position(draw):
    return (draw(st.floats(52.3, 52.7)), draw(st.floats(13.1, 13.7)))


@st.composite
def windows(draw):
    cuts = sorted(draw(st.lists(st.integers(360, 1200), min_size=2, max_size=6, unique=True)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return tuple((cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2))


@st.composite
def instances(draw):
    workers = [
        Worker(
            id=f"w{i}",
            skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=3))),
            free=draw(windows()),
            position=position(draw) if draw(st.booleans()) else None,
        )
        for i in range(draw(st.integers(1, 5)))
    ]
    pinned = []
    for worker in workers:
        if worker.free and draw(st.integers(0, 3)) == 0:
            a, b = worker.free[0]
            pinned.append(Pinned(f"pin:{worker.id}", worker.id, a, min(b, a + 30), position(draw)))
    demands = []
    for j in range(draw(st.integers(0, 14))):
        earliest = draw(st.integers(360, 1100))
        duration = draw(st.sampled_from([15, 30, 45, 60, 120]))
        demands.append(
            Demand(
                id=f"d{j}",
                duration=duration,
                earliest=earliest,
                latest=min(1440, earliest + duration + draw(st.integers(0, 300))),
                skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=2))),
                position=position(draw) if draw(st.booleans()) else None,
                priority=draw(st.integers(1, 4)),
            )
        )
    weights = Weights(travel=draw(st.sampled_from([0.0, 1.0, 3.0])), balance=draw(st.sampled_from([0.0, 1.0])))
    return Instance(workers=workers, demands=demands, pinned=pinned, weights=weights)


def check(instance, solution):
    assert validate(instance, solution.placements) == []
    assert solution.status != "failed"
    placed = [p.demand_id for p in solution.placements]
    assert len(placed) == len(set(placed)), "a demand placed twice"
    missing = [u.demand_id for u in solution.unassigned]
    assert set(placed).isdisjoint(missing)
    demand_ids = {d.id for d in instance.demands}
    assert set(placed) | set(missing) == demand_ids | {p.demand_id for p in instance.pinned}
    assert all(u.reason in REASONS for u in solution.unassigned)
    for pin in instance.pinned:
        assert Placement(pin.demand_id, pin.worker_id, pin.start, pin.end) in solution.placements
    workers = {w.id: w for w in instance.workers}
    for unassigned in solution.unassigned:
        demand = next(d for d in instance.demands if d.id == unassigned.demand_id)
        if unassigned.reason == "skill_missing":
            assert not any(demand.skills <= w.skills for w in workers.values())


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(instances())
def test_greedy_solutions_are_valid(instance):
    check(instance, solve(instance, algorithm="greedy"))


@FAST
@given(instances())
def test_routing_solutions_are_valid(instance):
    solution = solve(instance, algorithm="routing", time_limit_ms=150)
    check(instance, solution)


@settings(max_examples=60, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_validator_catches_broken_solutions(instance, rnd):
    """Mutating a valid solution (moving work off its person's time, onto someone without
    the skill, on top of other work) is caught by the validator."""
    solution = solve(instance, algorithm="greedy")
    movable = [p for p in solution.placements if not p.demand_id.startswith("pin:")]
    if not movable:
        return
    victim = rnd.choice(movable)
    demand = next(d for d in instance.demands if d.id == victim.demand_id)
    broken = [p for p in solution.placements if p != victim]
    shifted = Placement(victim.demand_id, victim.worker_id, demand.latest, demand.latest + demand.duration)
    assert validate(instance, [*broken, shifted]), "work past its window was accepted"
    assert validate(instance, [*solution.placements, victim]), "a demand placed twice was accepted"


def day(seed: int, people: int = 8, jobs: int = 40) -> Instance:
    rng = random.Random(seed)
    workers = [
        Worker(
            id=f"w{i}",
            skills=frozenset(rng.sample(SKILLS, 2)),
            free=((480, 720), (780, 1020)),
            position=(52.4 + rng.random() * 0.2, 13.3 + rng.random() * 0.3),
        )
        for i in range(people)
    ]
    demands = []
    for j in range(jobs):
        earliest = rng.randrange(480, 960, 15)
        duration = rng.choice([30, 45, 60])
        demands.append(
            Demand(
                id=f"d{j}",
                duration=duration,
                earliest=earliest,
                latest=min(1020, earliest + duration + rng.choice([60, 180, 300])),
                skills=frozenset([rng.choice(SKILLS)]),
                position=(52.4 + rng.random() * 0.2, 13.3 + rng.random() * 0.3),
                priority=rng.randint(1, 4),
            )
        )
    return Instance(workers=workers, demands=demands)


def test_greedy_is_deterministic():
    a, b = solve(day(3), algorithm="greedy"), solve(day(3), algorithm="greedy")
    assert a.placements == b.placements and a.unassigned == b.unassigned


def test_routing_assigns_at_least_as_much_priority_as_greedy():
    instance = day(5)
    greedy, routing = solve(instance, algorithm="greedy"), solve(instance, algorithm="routing", time_limit_ms=1500)
    check(instance, routing)
    assert routing.algorithm == "routing"
    assert routing.score >= greedy.score


def test_over_constrained_day_reports_each_reason():
    worker = Worker(id="w", skills=frozenset({"gas"}), free=((480, 570),), position=(52.5, 13.4))
    far = (48.1, 11.6)  # Munich, ~500 km away
    instance = Instance(
        workers=[worker],
        demands=[
            Demand("fits", 60, 480, 600, frozenset({"gas"}), (52.5, 13.4), priority=4),
            Demand("full", 60, 480, 600, frozenset({"gas"}), (52.5, 13.4), priority=1),
            Demand("electric", 30, 480, 600, frozenset({"electric"})),
            Demand("night", 30, 1300, 1400, frozenset({"gas"})),
            Demand("munich", 30, 480, 600, frozenset({"gas"}), far),
        ],
    )
    for algorithm in ("greedy", "routing"):
        solution = solve(instance, algorithm=algorithm, time_limit_ms=300)
        check(instance, solution)
        assert [p.demand_id for p in solution.placements] == ["fits"]
        reasons = {u.demand_id: u.reason for u in solution.unassigned}
        assert reasons == {
            "full": "over_capacity",
            "electric": "skill_missing",
            "night": "outside_availability",
            "munich": "travel_infeasible",
        }, algorithm


def test_pinned_work_is_kept_and_travel_counts_from_it():
    worker = Worker(id="w", skills=frozenset(), free=((480, 720),), position=(52.5, 13.4))
    pin = Pinned("pinned", "w", 540, 600, (52.6, 13.6))
    near_pin = Demand("next", 30, 480, 720, frozenset(), (52.6, 13.6))
    instance = Instance(workers=[worker], demands=[near_pin], pinned=[pin])
    for algorithm in ("greedy", "routing"):
        solution = solve(instance, algorithm=algorithm, time_limit_ms=300)
        check(instance, solution)
        assert Placement("pinned", "w", 540, 600) in solution.placements


@pytest.mark.parametrize("algorithm", ["greedy", "routing"])
def test_travel_between_jobs_is_respected(algorithm):
    worker = Worker(id="w", skills=frozenset(), free=((480, 1020),), position=(52.52, 13.40))
    a = Demand("a", 60, 480, 540, frozenset(), (52.52, 13.40))  # 08:00–09:00, at home
    b = Demand("b", 60, 540, 700, frozenset(), (52.40, 13.05))  # ~28 km away
    instance = Instance(workers=[worker], demands=[a, b])
    solution = solve(instance, algorithm=algorithm, time_limit_ms=300)
    check(instance, solution)
    placed = {p.demand_id: p for p in solution.placements}
    assert placed["b"].start >= placed["a"].end + instance.travel(a.position, b.position) > placed["a"].end
    assert measure(instance, solution.placements)["travel_minutes"] > 0
