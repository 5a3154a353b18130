"""The three rates the evaluation service counts from the escalations service's events equal an
independent count over a seeded set of 200 whistles, at three as-of dates, for the district,
its streets and communities, and its departments."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

import httpx
from cobuild_contracts import Role
from cobuild_evaluation.app import definition as evaluation_definition
from cobuild_evaluation.settings import EvaluationSettings
from cobuild_kit.clock import FixedClock, business_date
from cobuild_kit.service import Runtime, create_app
from cobuild_kit.testing import TestIssuer, caught_up, eventually
from escalations_support import (
    World,
    announce,
    local,
    parties_known,
    served,
    settings,
    settled,
    upload,
)

SEED = 38
WHISTLES = 200
AS_OF = (date(2026, 4, 10), date(2026, 5, 20), date(2026, 12, 31))


@dataclass
class Planned:
    """One whistle of the seeded set and what happens to it, by business time."""

    n: int
    raiser: tuple[Role, UUID]
    place: UUID
    category: str
    urgency: str
    raised_at: datetime
    hand_on_to: UUID | None = None
    respond_after: timedelta | None = None
    resolve_after: timedelta | None = None
    reopen: bool = False
    close: bool = False
    ratings: list[int] = field(default_factory=list)
    # What the service answered and what was done, for the independent count.
    whistle_id: str = ""
    community: UUID | None = None
    street: UUID | None = None
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    receivers: list[tuple[datetime, UUID]] = field(default_factory=list)
    responded_at: datetime | None = None
    resolutions: list[tuple[datetime, str]] = field(default_factory=list)  # resolved/reopened
    rated: list[tuple[datetime, int]] = field(default_factory=list)


def plan(w: World) -> list[Planned]:
    rng = random.Random(SEED)
    categories = ["municipal_facilities", "housing_repair", "elderly_care", "drainage"]
    out = []
    start = local(2026, 3, 2, 8)
    for n in range(WHISTLES):
        if rng.random() < 0.2:
            street = rng.choice([w.s1, w.s2])
            raiser = (Role.STREET_ADMIN, street)
            place = street if rng.random() < 0.5 else (w.c3 if street == w.s2 else w.c1)
        else:
            community = rng.choice([w.c1, w.c2, w.c3])
            raiser = (Role.COMMUNITY_ADMIN, community)
            place = w.grid if community == w.c1 and rng.random() < 0.3 else community
        p = Planned(
            n=n,
            raiser=raiser,
            place=place,
            category=rng.choice(categories),
            urgency="urgent" if rng.random() < 0.2 else "normal",
            raised_at=start + timedelta(days=rng.randrange(0, 120), minutes=rng.randrange(0, 600)),
        )
        if rng.random() < 0.1:
            p.hand_on_to = w.d3
        if rng.random() < 0.85:
            p.respond_after = timedelta(hours=rng.uniform(0.5, 60))
            if rng.random() < 0.8:
                p.resolve_after = p.respond_after + timedelta(hours=rng.uniform(1, 240))
                p.reopen = rng.random() < 0.1
                p.close = rng.random() < 0.9
                if p.close:
                    p.ratings = [rng.randint(1, 5) for _ in range(rng.randint(0, 3))]
        out.append(p)
    return out


def actions(plans: list[Planned]) -> list[tuple[datetime, int, str, Planned]]:
    """Every step of every whistle, in business-time order (the clock never goes back)."""
    steps: list[tuple[datetime, int, str, Planned]] = []
    for p in plans:
        t = p.raised_at
        steps.append((t, p.n, "raise", p))
        if p.hand_on_to is not None:
            steps.append((t + timedelta(minutes=10), p.n, "hand_on", p))
        if p.respond_after is not None:
            steps.append((t + timedelta(minutes=20) + p.respond_after, p.n, "respond", p))
        if p.resolve_after is not None:
            r = t + timedelta(minutes=30) + p.resolve_after
            steps.append((r, p.n, "resolve", p))
            if p.reopen:
                steps.append((r + timedelta(hours=2), p.n, "reopen", p))
                steps.append((r + timedelta(hours=30), p.n, "resolve", p))
                r += timedelta(hours=30)
            if p.close:
                steps.append((r + timedelta(hours=3), p.n, "close", p))
                if p.ratings:
                    steps.append((r + timedelta(hours=5), p.n, "rate", p))
    order = {"raise": 0, "hand_on": 1, "respond": 2, "resolve": 3, "reopen": 4, "close": 5}
    steps.sort(key=lambda s: (s[0], s[1], order.get(s[2], 6)))
    return steps


def receiver_role(w: World, party: UUID) -> Role:
    if party in (w.d1, w.d2, w.d3):
        return Role.UNIT_ADMIN
    return Role.DISTRICT_ADMIN if party == w.district else Role.STREET_ADMIN


async def play(s: Any, w: World, plans: list[Planned]) -> None:
    h = s.h
    for at, _, what, p in actions(plans):
        s.clock.set(at)
        raiser = h(*p.raiser)
        receiver = p.receivers[-1][1] if p.receivers else None
        rh = h(receiver_role(w, receiver), receiver) if receiver else {}
        if what == "raise":
            body = {"title": f"事项 {p.n}", "category": p.category, "urgency": p.urgency,
                    "place_id": str(p.place)}  # fmt: skip
            r = await s.client.post("/whistles", json=body, headers=raiser)
            assert r.status_code == 201, r.text
            x = r.json()
            p.whistle_id = x["whistle_id"]
            p.community = UUID(x["place"]["community_id"]) if x["place"]["community_id"] else None
            p.street = UUID(x["place"]["street_id"])
            p.respond_by = datetime.fromisoformat(x["respond_by"])
            p.resolve_by = datetime.fromisoformat(x["resolve_by"])
            p.receivers.append((at, UUID(x["receiver_party_id"])))
        elif what == "hand_on":
            if receiver == p.hand_on_to:
                continue  # routed there already
            body = {"to_party_id": str(p.hand_on_to), "reason": "职责在民政"}
            r = await s.client.post(f"/whistles/{p.whistle_id}/hand-on", json=body, headers=rh)
            assert r.status_code == 200, r.text
            assert p.hand_on_to is not None
            p.receivers.append((at, p.hand_on_to))
        elif what == "respond":
            body = {"who_comes": "值班组"}
            r = await s.client.post(f"/whistles/{p.whistle_id}/respond", json=body, headers=rh)
            assert r.status_code == 200, r.text
            p.responded_at = at
        elif what == "resolve":
            evidence = await upload(s, p.whistle_id, rh)
            body = {"evidence_ids": [evidence]}
            r = await s.client.post(f"/whistles/{p.whistle_id}/resolve", json=body, headers=rh)
            assert r.status_code == 200, r.text
            p.resolutions.append((at, "resolved"))
        elif what == "reopen":
            body = {"reason": "没修好"}
            r = await s.client.post(f"/whistles/{p.whistle_id}/reopen", json=body, headers=raiser)
            assert r.status_code == 200, r.text
            p.resolutions.append((at, "reopened"))
        elif what == "close":
            r = await s.client.post(f"/whistles/{p.whistle_id}/confirm", headers=raiser)
            assert r.status_code == 200, r.text
        else:
            count = {"count": len(p.ratings)}
            r = await s.client.post(
                f"/whistles/{p.whistle_id}/rating-codes", json=count, headers=raiser
            )
            assert r.status_code == 201, r.text
            for code, stars in zip(r.json()["codes"], p.ratings, strict=True):
                body = {"code": code, "rating": stars}
                r = await s.resident.post("/public/whistle-ratings", json=body)
                assert r.status_code == 201, r.text
                p.rated.append((at, stars))


def rate(n: int, d: int) -> str | None:
    if d == 0:
        return None
    return format((Decimal(n) / Decimal(d)).quantize(Decimal("0.0001"), ROUND_HALF_UP), "f")


def counted(plans: list[Planned], as_of: date) -> dict[str, Any]:
    """The rates, counted by hand from what was done (not from the events)."""
    raised = due = responded = rdue = resolved = rated = satisfied = 0
    for p in plans:
        if business_date(p.raised_at) > as_of:
            continue
        assert p.respond_by is not None and p.resolve_by is not None
        raised += 1
        if business_date(p.respond_by) <= as_of:
            due += 1
            at = p.responded_at
            responded += at is not None and at <= p.respond_by and business_date(at) <= as_of
        if business_date(p.resolve_by) <= as_of:
            rdue += 1
            seen = [(t, k) for t, k in p.resolutions if business_date(t) <= as_of]
            if seen and seen[-1][1] == "resolved" and seen[-1][0] <= p.resolve_by:
                resolved += 1
        for t, stars in p.rated:
            if business_date(t) <= as_of:
                rated += 1
                satisfied += stars >= 4
    return {
        "raised": raised,
        "response_due": due,
        "responded_within_limit": responded,
        "response_rate": rate(responded, due),
        "resolution_due": rdue,
        "resolved_within_limit": resolved,
        "completion_rate": rate(resolved, rdue),
        "rated": rated,
        "satisfied": satisfied,
        "satisfaction_rate": rate(satisfied, rated),
    }


def holder(p: Planned, as_of: date) -> UUID:
    return [r for t, r in p.receivers if business_date(t) <= as_of][-1]


async def test_the_rates_equal_an_independent_count(
    pg_server: Any, kafka_bootstrap: str, issuer: TestIssuer, tmp_path: Any
) -> None:
    w = World()
    await announce(kafka_bootstrap, w.events())
    esc_dsn = await pg_server.create_database("escalations_rates")
    eval_dsn = await pg_server.create_database("evaluation_whistles")
    clock = FixedClock(local(2026, 3, 1, 9))
    routing = {
        "rules": [
            {"department_id": str(w.d1), "category": "municipal_facilities"},
            {"department_id": str(w.d2), "category": "housing_repair", "raiser_level": "community"},
            {"department_id": str(w.d3), "category": "elderly_care", "street_id": str(w.s2)},
        ],
        "limits": [
            {"urgency": "normal", "respond": "1d", "resolve": "5d"},
            {"urgency": "urgent", "respond": "4h", "resolve": "2d"},
            {"category": "drainage", "urgency": "normal", "respond": "8h", "resolve": "3d"},
        ],
    }
    ev_settings = EvaluationSettings(
        database_url=eval_dsn,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path / "evaluation",
        database_pool_min=1,
        database_pool_max=4,
    )
    ev_app = create_app(evaluation_definition(ev_settings, verifier=issuer.verifier, clock=clock))
    ev: Runtime[Any] = ev_app.state.runtime
    await ev.start()
    plans = plan(w)
    try:
        esc_settings = settings(
            esc_dsn, kafka_bootstrap, tmp_path / "escalations", rating_redeem_attempts_per_minute=10_000
        )
        async with served(esc_settings, issuer, clock) as s:
            await parties_known(s.rt, w.parties())
            await parties_known(ev, w.parties())
            url = f"/districts/{w.district}/routing"
            r = await s.client.put(url, json=routing, headers=s.h(Role.DISTRICT_ADMIN, w.district))
            assert r.status_code == 201, r.text
            await play(s, w, plans)
            await settled(s.rt)
        await eventually(lambda: caught_up(ev), timeout=60)

        transport = httpx.ASGITransport(app=ev_app)
        operator = issuer.headers(Role.OPERATOR, w.district)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def read(scope: str, party: UUID, as_of: date) -> dict[str, Any]:
                params = {"scope": scope, "id": str(party), "as_of": as_of.isoformat()}
                r = await client.get("/whistle-rates", params=params, headers=operator)
                assert r.status_code == 200, r.text
                return dict(r.json())

            checked = 0
            for as_of in AS_OF:
                view = await read("district", w.district, as_of)
                assert view["figures"] == counted(plans, as_of), as_of
                kids = {c["id"]: c["figures"] for c in view["children"]}
                for street in (w.s1, w.s2):
                    mine = [p for p in plans if p.street == street]
                    assert kids[str(street)] == counted(mine, as_of)
                    for c in (await read("street", street, as_of))["children"]:
                        ours = [p for p in mine if p.community == UUID(c["id"])]
                        assert c["figures"] == counted(ours, as_of), (as_of, c["name"])
                        checked += 1
                departments = {d["id"]: d["figures"] for d in view["departments"]}
                for d in (w.d1, w.d2, w.d3):
                    held = [p for p in plans if business_date(p.raised_at) <= as_of
                            and holder(p, as_of) == d]  # fmt: skip
                    expected = counted(held, as_of)
                    assert (await read("department", d, as_of))["figures"] == expected
                    if held:
                        assert departments[str(d)] == expected
                    checked += 1
            assert checked == len(AS_OF) * 6
            final = counted(plans, AS_OF[-1])
            # The seeded set exercises every part of each rate.
            assert final["raised"] == WHISTLES
            for k in ("response_rate", "completion_rate", "satisfaction_rate"):
                assert final[k] is not None and Decimal("0") < Decimal(final[k]) < Decimal("1")
            whistles = (await read("community", w.c2, AS_OF[-1]))["children"]
            assert whistles and all(c["figures"]["raised"] == 1 for c in whistles)
            # A community admin reads its own community's rates, not another's.
            mine = issuer.headers(Role.COMMUNITY_ADMIN, w.c1)
            ok = await client.get(
                "/whistle-rates", params={"scope": "community", "id": str(w.c1)}, headers=mine
            )
            assert ok.status_code == 200
            other = await client.get(
                "/whistle-rates", params={"scope": "community", "id": str(w.c2)}, headers=mine
            )
            assert other.status_code == 404
    finally:
        await ev.stop()
