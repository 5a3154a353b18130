"""End to end: the small scenario's year through the real services, broker and PostgreSQL.

The report (read back from the services) is checked against an independent calculation from
the plan: which commitments were fulfilled and when, which were missed, and what every member
should have earned and scored under the shipped rule set and the default policy (both re-read
here from the services' own YAML files). The report.json of the seed is kept in
`tests/e2e/golden/`: the run must give it byte for byte (a fresh stack, minted ids, the same
figures). When a change means to move the figures, or adds an event the report counts, rewrite it
with `COBUILD_UPDATE_GOLDEN=1` and let the diff show in review what moved.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
import yaml
from cobuild_scenario.actors import Api, Tokens
from cobuild_scenario.driver import MainJob, Played, play
from cobuild_scenario.plan import Outcome, Plan
from cobuild_stack.launcher import ACCESS_TOKEN_ISSUER, SERVICES, Stack, StackConfig

SEED = 7
Q2, Q4 = Decimal("0.01"), Decimal("0.0001")
pytestmark = pytest.mark.timeout(600)


@dataclass
class Run:
    played: Played
    report_json: bytes
    scores: dict[str, Decimal]  # member id → published score
    balances: dict[str, Decimal]  # member id → points balance (points service)
    metrics: dict[str, str]  # service → its /metrics text at the end of the year


async def _run_once(root: Path) -> Run:
    config = MainJob().prepare_stack(
        StackConfig.from_env(
            {},
            var_dir=root / "var",
            service_ports={name: 0 for name in SERVICES},
            partitions=2,
            test_mode=True,
        )
    )
    stack = Stack(config)
    info = await stack.start()
    try:
        played = await play(
            info, seed=SEED, scale="small", var_dir=stack.var_dir, say=print, show_progress=False
        )
        api = Api({n: s["url"] for n, s in info["services"].items()}, Tokens(info["keys"]))
        try:
            district = api.actor("district_admin", played.world.district_id)
            members: list[dict[str, Any]] = []
            offset: int | None = 0
            while offset is not None:  # the published results, a page at a time
                page = await district.get(
                    "evaluation",
                    "/assessments/2026",
                    district_id=played.world.district_id,
                    limit=500,
                    offset=offset,
                )
                members += page["items"]
                offset = page["next_offset"]
            balances: dict[str, Decimal] = {}
            for c in played.plan.communities:
                admin = api.actor("community_admin", played.world.parties[c.code])
                offset = 0
                while offset is not None:  # a page of members at a time
                    totals = await admin.get(
                        "points",
                        f"/communities/{played.world.parties[c.code]}/points",
                        year=2026,
                        limit=500,
                        offset=offset,
                    )
                    for m in totals["items"]:
                        balances[str(m["member_id"])] = Decimal(m["balance"])
                    offset = totals["next_offset"]
            operator = {
                "authorization": f"Bearer {api.tokens.token('operator', played.world.district_id)}"
            }
            async with httpx.AsyncClient(headers=operator) as client:
                metrics = {
                    n: (await client.get(f"{s['url']}/metrics")).text
                    for n, s in info["services"].items()
                }
        finally:
            await api.aclose()
    finally:
        await stack.stop()
    return Run(
        played,
        (played.out_dir / "report.json").read_bytes(),
        {m["subject_id"]: Decimal(m["score"]) for m in members},
        balances,
        metrics,
    )


GOLDEN = Path(__file__).parent / "golden" / f"report-small-seed{SEED}.json"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def year() -> AsyncIterator[Run]:
    root = Path(tempfile.mkdtemp(prefix="cobuild-e2e-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    try:
        yield await _run_once(root / "run")
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- the independent calculation --------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> str | None:
    if denominator == 0:
        return None
    return format((Decimal(numerator) / Decimal(denominator)).quantize(Q4, ROUND_HALF_UP), "f")


def _confirmed_on(plan: Plan, item: Any) -> date | None:
    return plan.ticks[item.confirm_tick] if item.confirm_tick is not None else None


def expected_ledger(plan: Plan, as_of: date) -> dict[str, dict[str, Any]]:
    """Per community name (and 'district'): signed, fulfilled, value and rates as of a date."""
    by_scope: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in plan.agreements:
        if a.signed_tick is not None and plan.ticks[a.signed_tick] > as_of:
            continue  # a joint meeting's decision, signed after the date
        name = plan.community(a.community).name
        for item in a.items:
            confirmed = _confirmed_on(plan, item)
            done = confirmed is not None and confirmed <= as_of
            for scope in (name, "district"):
                f = by_scope[scope]
                f["signed"] += 1
                f["signed_fen"] += item.funds_fen
                f["fulfilled"] += done
                f["fulfilled_fen"] += min(item.paid_fen, item.funds_fen) if done else 0
    return {
        scope: {
            **f,
            "fulfilment_rate": _rate(f["fulfilled"], f["signed"]),
            "fulfilment_rate_fen": _rate(f["fulfilled_fen"], f["signed_fen"]),
        }
        for scope, f in by_scope.items()
    }


def _yaml(package: str, path: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (resources.files(package) / path).read_text(encoding="utf-8")
    )
    return data


def expected_points(plan: Plan) -> dict[int, Decimal]:
    """What each member earns under the shipped 2026 rule set; fails if the plan ever runs into
    a cap (then the plain sum would be wrong)."""
    rules = _yaml("cobuild_points", "rules/2026-v1.yaml")
    rate = {code: r for code, r in rules["rules"].items()}
    caps = rules["caps"]
    entries: list[tuple[int, date, str, str, Decimal]] = []  # member, day, category, source, pts
    for item in plan.items():
        if item.fulfilled:
            done_tick = item.final_done_tick
            assert done_tick is not None
            for member, hours in item.participants:
                pts = hours * Decimal(rate["task"]["per_hour"])
                entries.append((member, plan.ticks[done_tick], "task", item.key, pts))
    for act in plan.activities:
        for member in act.attendees:
            pts = Decimal("3.00") * Decimal(rate["activity_attendance"]["per_hour"])
            entries.append((member, plan.ticks[act.tick], "activity", act.key, pts))
    for wish in plan.wishes:
        if wish.member is not None and wish.confirm_tick is not None:
            pts = Decimal(rate["wish_fulfilled"]["flat"])
            entries.append((wish.member, plan.ticks[wish.confirm_tick], "wish", wish.key, pts))
    per_day: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    per_source: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    per_category: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for member, day, category, source, pts in entries:
        per_day[(member, day)] += pts
        per_source[(member, source)] += pts
        per_category[(member, category)] += pts
        totals[member] += pts
    assert max(per_day.values()) <= Decimal(caps["per_day"])
    assert max(per_source.values()) <= Decimal(caps["per_activity"])
    for (_, category), value in per_category.items():
        assert value <= Decimal(caps["per_category_year"][category])
    return dict(totals)


def expected_score(points: Decimal, rating: Decimal | None) -> Decimal:
    policy = _yaml("cobuild_evaluation", "policies/2026-v1.yaml")
    comps = policy["member"]["components"]
    target = Decimal(comps["points"]["mapping"]["target"])
    ps = min(points / target * 100, Decimal(100)).quantize(Q2, ROUND_HALF_UP)
    if rating is None:
        return ps
    wp, wr = Decimal(comps["points"]["weight"]), Decimal(comps["community_rating"]["weight"])
    raw = (wp * ps + wr * rating.quantize(Q2, ROUND_HALF_UP)) / (wp + wr)
    return min(raw, Decimal(100)).quantize(Q2, ROUND_HALF_UP)


# --- the assertions -----------------------------------------------------------------------------


def _communities(figures: dict[str, Any], snapshot: str) -> dict[str, dict[str, Any]]:
    snap = figures["fulfilment"][snapshot]
    out = {c["name"]: c for s in snap["streets"] for c in s["communities"]}
    out["district"] = snap["district"]
    return out


@pytest.mark.parametrize(
    ("snapshot", "as_of"), [("mid_year", "2026-06-30"), ("year_end", "2026-12-31")]
)
async def test_fulfilment_matches_the_plan(year: Run, snapshot: str, as_of: str) -> None:
    run = year
    plan = run.played.plan
    expected = expected_ledger(plan, date.fromisoformat(as_of))
    reported = _communities(run.played.figures, snapshot)
    assert set(reported) == set(expected)
    for scope, want in expected.items():
        got = reported[scope]
        for key in ("signed", "signed_fen", "fulfilled", "fulfilled_fen"):
            assert got[key] == want[key], (scope, key)
        assert got["fulfilment_rate"] == want["fulfilment_rate"], scope
        assert got["fulfilment_rate_fen"] == want["fulfilment_rate_fen"], scope


async def test_missed_deadlines_match_the_plan(year: Run) -> None:
    run = year
    items = run.played.plan.items()
    late = sum(1 for i in items if i.outcome is Outcome.LATE)
    never = sum(1 for i in items if i.outcome is Outcome.NEVER)
    assert late and never  # the scenario really misses deadlines
    overdue = run.played.figures["overdue"]
    assert overdue["flagged"] == late + never
    assert overdue["fulfilled_late"] == late
    assert overdue["still_open"] == never
    year_end = run.played.figures["fulfilment"]["year_end"]["district"]
    assert year_end["overdue"] == never
    assert year_end["flagged_overdue"] == late + never
    assert year_end["fulfilled"] == len(items) - never


async def test_the_joint_meetings_and_their_decisions_match_the_plan(year: Run) -> None:
    run = year
    plan = run.played.plan
    reported = run.played.figures["meetings"]
    (alliance,) = plan.alliances  # the small scale has one street
    (got,) = reported["alliances"]
    assert got["name"] == alliance.name
    assert got["meetings"] == len(plan.meetings) == 12  # monthly
    held = [(m.number, m.held_on.isoformat(), m.chair, len(m.decisions)) for m in plan.meetings]
    units = {u.code: u.name for u in plan.units}
    assert [(m["number"], m["held_on"], m["chair"], m["decisions"]) for m in got["held"]] == [
        (n, day, units[chair], d) for n, day, chair, d in held
    ]
    # The unit that left mid-year chairs before July and never after.
    assert alliance.leaves_on is not None
    chairs_after = {m.chair for m in plan.meetings if m.held_on >= alliance.leaves_on}
    assert alliance.leaver in {m.chair for m in plan.meetings} - chairs_after
    decisions = [i for a in plan.agreements if a.origin == "meeting" for i in a.items]
    assert got["decisions"] == len(decisions) > 0
    done = [i for i in decisions if i.confirm_tick is not None]
    fen = sum(min(i.paid_fen, i.funds_fen) for i in done)
    for figures in (got["fulfilment"], reported["district"]):
        assert figures["signed"] == len(decisions)
        assert figures["fulfilled"] == len(done)
        assert figures["fulfilment_rate"] == _rate(len(done), len(decisions))
        assert figures["fulfilment_rate_fen"] == _rate(fen, sum(i.funds_fen for i in decisions))
        assert figures["overdue"] == sum(1 for i in decisions if i.outcome is Outcome.NEVER)


async def test_every_member_earned_and_scored_what_the_plan_implies(year: Run) -> None:
    run = year
    plan, world = run.played.plan, run.played.world
    points = expected_points(plan)
    assert set(run.scores) == {world.members[m.index] for m in plan.members}
    excellent = 0
    for m in plan.members:
        member_id = world.members[m.index]
        earned = points.get(m.index, Decimal(0))
        assert run.balances.get(member_id, Decimal(0)) == earned, m
        score = expected_score(earned, m.rating)
        assert run.scores[member_id] == score, m
        excellent += score >= 90
    totals = run.played.figures["assessment"]["totals"]
    assert totals["member_count"] == len(plan.members)
    assert totals["member_excellent_rate"] == _rate(excellent, len(plan.members))


async def test_events_flowed_on_every_topic(year: Run) -> None:
    events = year.played.figures["events"]
    for topic, n in events["per_topic"].items():
        assert (n == 0) if topic.endswith(".dlq") else (n > 0), topic
    kinds = events["per_event_type"]
    items = year.played.plan.items()
    assert kinds["commitment.opened"] == len(items)
    assert kinds["commitment.fulfilled"] == sum(1 for i in items if i.fulfilled)
    # Each member's score twice: published for objections (公示), then final (issue 35).
    assert kinds["member.scored"] == 2 * len(year.played.plan.members)
    assert kinds["objection.filed"] == kinds["objection.rejected"] == 1
    assert kinds["assessment.finalised"] == 1


def _sample(text: str, name: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(name))
    return float(line.rsplit(" ", 1)[1])


async def test_each_service_froze_its_startup_heap_and_times_its_collections(
    year: Run,
) -> None:
    for name, text in year.metrics.items():
        # Imports alone leave about 100,000 objects; the freeze's own collection is timed.
        assert _sample(text, "cobuild_gc_frozen_objects ") > 50_000, name
        assert _sample(text, 'cobuild_gc_pause_seconds_total{generation="2"}') > 0, name


async def test_the_same_seed_gives_the_same_report(year: Run) -> None:
    if os.environ.get("COBUILD_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(year.report_json)
    golden = GOLDEN.read_bytes()
    assert json.loads(year.report_json) == json.loads(golden), (
        f"the seed's report moved; if intended: COBUILD_UPDATE_GOLDEN=1 pytest {__file__}"
    )
    assert year.report_json == golden


async def test_one_communitys_members_play_the_year_with_exchanged_tokens(
    year: Run,
) -> None:
    """The members who signed in for real hold tokens of the access service's exchange for
    their member grant (learnt from their own report as a person), and earned points with
    them; the report is the same as with development tokens (the test above)."""
    played = year.played
    members = played.member_signin
    assert members is not None and len(members.people) == 64
    first_community = played.plan.communities[0].code
    earned = 0
    for p in members.people:
        assert played.plan.members[p.index].community == first_community
        member_id = played.world.members[p.index]
        token = members.api.tokens.token("member", member_id)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["iss"] == ACCESS_TOKEN_ISSUER, claims
        assert (claims["role"], claims["party_id"]) == ("member", member_id)
        assert claims["gid"] and claims["sub"] == p.user_name
        earned += year.balances.get(member_id, Decimal(0)) > 0
    assert earned > 0
