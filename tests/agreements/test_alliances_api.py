"""Alliances and joint meetings through the agreements API, on real PostgreSQL and the broker:
forming, the rotating chair over recorded meetings, decisions that become signed agreements of
origin `meeting`, the events, and who may do and read what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from agreements_support import Service, World, build_world, read_events
from cobuild_contracts import AgreementSigned, Role
from cobuild_contracts.events.alliances import DecisionMade, MeetingHeld

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class Alliance:
    w: World
    units: list[UUID]  # four member units, in rotation order
    outsider: UUID  # a unit that is never a member
    far_street: UUID
    far_community: UUID  # a community of another street
    alliance_id: UUID

    @property
    def street_admin(self) -> tuple[Role, UUID]:
        return Role.STREET_ADMIN, self.w.street


async def _unit(s: Service, w: World, name: str) -> UUID:
    body = {"kind": "unit", "name": name, "parent_id": str(w.district), "unit_type": "enterprise"}
    return UUID(
        (await s.ok("POST", "/parties", Role.DISTRICT_ADMIN, w.district, json=body))["party_id"]
    )


async def alliance(s: Service, **rotation: Any) -> Alliance:
    """A street's alliance of four units, formed on New Year's Day 2025 (today is March 1)."""
    w = await build_world(s)
    units = [w.unit, w.other_unit, await _unit(s, w, "区人民医院"), await _unit(s, w, "供水公司")]
    outsider = await _unit(s, w, "青年商会")
    d = (Role.DISTRICT_ADMIN, w.district)
    far_street = (
        await s.ok(
            "POST",
            "/parties",
            *d,
            json={"kind": "street", "name": "南山街道", "parent_id": str(w.district)},
        )
    )["party_id"]
    far_community = (
        await s.ok(
            "POST",
            "/parties",
            *d,
            json={"kind": "community", "name": "南湖社区", "parent_id": far_street},
        )
    )["party_id"]
    formed = await s.ok(
        "POST",
        "/alliances",
        Role.STREET_ADMIN,
        w.street,
        json={
            "host_party_id": str(w.street),
            "name": "和平街道党建联盟",
            "formed_on": "2025-01-01",
            "member_unit_ids": [str(u) for u in units],
            **({"rotation": rotation} if rotation else {}),
        },
    )
    return Alliance(
        w, units, outsider, UUID(far_street), UUID(far_community), UUID(formed["alliance_id"])
    )


def meeting(held_on: str, *decisions: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "held_on": held_on,
        "title": f"联席会议 {held_on}",
        "agenda": ["通报上月共建事项进展", "研究本月为民办实事项目"],
        "minutes": "会议研究确定了以下事项。",
        "decisions": list(decisions),
        **kw,
    }


def decision(community: UUID, **kw: Any) -> dict[str, Any]:
    return {
        "title": "老旧小区路灯更新",
        "category": "happy_compound",
        "beneficiary_community_id": str(community),
        "deadline": "2025-06-30",
        "funds_fen": 500_000,
        **kw,
    }


async def test_a_decision_is_a_signed_agreement_of_the_chair_with_the_community(
    agreements_service: Service,
) -> None:
    s = agreements_service
    a = await alliance(s)
    rotation = await s.ok("GET", f"/alliances/{a.alliance_id}/rotation", *a.street_admin)
    assert rotation["next_chair_unit_id"] == str(a.units[0])
    assert [t["chair_unit_id"] for t in rotation["upcoming"][:5]] == [
        str(u) for u in [*a.units, a.units[0]]
    ]

    held = await s.ok(
        "POST",
        f"/alliances/{a.alliance_id}/meetings",
        *a.street_admin,
        json=meeting(
            "2025-01-10",
            decision(a.w.community),
            decision(
                a.w.other_community,
                title="儿童课后辅导",
                responsible_unit_id=str(a.units[2]),
                funds_fen=0,
            ),
            present_unit_ids=[str(a.units[0]), str(a.units[2])],
            chair_unit_id=str(a.units[0]),
        ),
    )
    assert held["number"] == 1 and held["chair_unit_id"] == str(a.units[0])
    assert set(held["absent_unit_ids"]) == {str(a.units[1]), str(a.units[3])}
    first, second = held["decisions"]
    assert first["responsible_unit_id"] == str(a.units[0])  # the chair by default
    assert second["responsible_unit_id"] == str(a.units[2])
    assert first["agreement_state"] == "signed" and not first["cancelled"]

    # The agreement: origin meeting, the unit owes the community, signed by the street.
    agreement = await s.ok(
        "GET", f"/agreements/{first['agreement_id']}", Role.COMMUNITY_ADMIN, a.w.community
    )
    assert agreement["origin"] == "meeting" and agreement["state"] == "signed"
    assert agreement["unit_id"] == str(a.units[0]) and agreement["community_id"] == str(
        a.w.community
    )
    assert agreement["decision_id"] == first["decision_id"]
    assert agreement["meeting_id"] == held["meeting_id"]
    assert [x["party_id"] for x in agreement["signatures"]] == [str(a.w.street)]
    (item,) = agreement["commitments"]
    assert item["commitment_id"] == first["commitment_id"]
    assert item["obligor_party_id"] == str(a.units[0])
    assert item["beneficiary_party_id"] == str(a.w.community)
    assert item["funds_fen"] == 500_000 and item["deadline"] == "2025-06-30"
    # The responsible unit sees it among its agreements, as any other.
    mine = await s.ok(
        "GET", "/agreements", Role.UNIT_ADMIN, a.units[0], params={"party_id": str(a.units[0])}
    )
    assert first["agreement_id"] in [x["agreement_id"] for x in mine["items"]]

    # The events: meeting.held, then each decision.made and its agreement.signed.
    key = str(a.alliance_id)
    events = await read_events(
        s.bootstrap,
        lambda e, ev: (
            e.key == key
            or (
                isinstance(ev, AgreementSigned)
                and str(ev.agreement_id) in {first["agreement_id"], second["agreement_id"]}
            )
        ),
        6,
    )
    types = [e.event_type for e, _ in events]
    assert types.count("alliance.formed") == 1 and types.count("decision.made") == 2
    held_event = next(ev for _, ev in events if isinstance(ev, MeetingHeld))
    assert held_event.chair_unit_id == a.units[0] and held_event.next_chair_unit_id == a.units[1]
    assert [str(d) for d in held_event.decision_ids] == [
        first["decision_id"],
        second["decision_id"],
    ]
    made = [ev for _, ev in events if isinstance(ev, DecisionMade)]
    assert {str(m.commitment_id) for m in made} == {first["commitment_id"], second["commitment_id"]}
    signed = [ev for _, ev in events if isinstance(ev, AgreementSigned)]
    assert {ev.origin.value for ev in signed} == {"meeting"}
    assert {ev.street_id for ev in signed} == {a.w.street}

    listed = await s.ok("GET", f"/alliances/{a.alliance_id}/decisions", *a.street_admin)
    assert [d["decision_id"] for d in listed["items"]] == [
        first["decision_id"],
        second["decision_id"],
    ]


async def test_the_chair_rotates_and_skips_a_unit_that_left(agreements_service: Service) -> None:
    s = agreements_service
    a = await alliance(s)
    u = a.units
    path = f"/alliances/{a.alliance_id}"
    await s.ok("POST", f"{path}/meetings", *a.street_admin, json=meeting("2025-01-10"))
    # The second unit leaves before its turn comes.
    left = await s.ok(
        "POST", f"{path}/members/{u[1]}/departure", *a.street_admin, json={"left_on": "2025-02-01"}
    )
    assert str(u[1]) not in left["current_member_ids"]
    assert left["next_chair_unit_id"] == str(u[2])
    # A stale page naming the skipped unit is refused with the unit whose turn it is.
    stale = await s.client.post(
        f"{path}/meetings",
        headers=s.as_(*a.street_admin),
        json=meeting("2025-02-10", chair_unit_id=str(u[1])),
    )
    assert stale.status_code == 409 and stale.json()["field"] == "body.chair_unit_id"
    assert str(u[2]) in stale.json()["message"]
    second = await s.ok("POST", f"{path}/meetings", *a.street_admin, json=meeting("2025-02-10"))
    assert second["chair_unit_id"] == str(u[2])
    third = await s.ok("POST", f"{path}/meetings", *a.street_admin, json=meeting("2025-02-20"))
    assert third["chair_unit_id"] == str(u[3])
    # A unit joins: it takes its turn last.
    joined = await s.ok(
        "POST",
        f"{path}/members",
        *a.street_admin,
        json={"unit_id": str(a.outsider), "joined_on": "2025-02-25"},
    )
    assert joined["order"] == [str(x) for x in [*u, a.outsider]]
    rotation = await s.ok("GET", f"{path}/rotation", *a.street_admin)
    assert [h["chair_unit_id"] for h in rotation["history"]] == [str(u[0]), str(u[2]), str(u[3])]
    assert rotation["next_chair_unit_id"] == str(a.outsider)
    assert [t["chair_unit_id"] for t in rotation["upcoming"][:4]] == [
        str(x) for x in (a.outsider, u[0], u[2], u[3])
    ]
    assert [v["version"] for v in rotation["versions"]] == [1, 2]
    # History cannot be rewritten behind the last meeting.
    back = await s.client.post(
        f"{path}/meetings", headers=s.as_(*a.street_admin), json=meeting("2025-02-15")
    )
    assert back.status_code == 422 and back.json()["field"] == "body.held_on"
    late = await s.client.post(
        f"{path}/members/{u[3]}/departure",
        headers=s.as_(*a.street_admin),
        json={"left_on": "2025-02-19"},
    )
    assert late.status_code == 422 and late.json()["field"] == "body.left_on"
    again = await s.client.post(
        f"{path}/members/{u[1]}/departure",
        headers=s.as_(*a.street_admin),
        json={"left_on": "2025-02-25"},
    )
    assert again.status_code == 409


async def test_a_monthly_period_rotation(agreements_service: Service) -> None:
    s = agreements_service
    a = await alliance(s, mode="per_period", period_months=1)
    path = f"/alliances/{a.alliance_id}"
    jan = await s.ok("POST", f"{path}/meetings", *a.street_admin, json=meeting("2025-01-10"))
    jan2 = await s.ok("POST", f"{path}/meetings", *a.street_admin, json=meeting("2025-01-24"))
    feb = await s.ok("POST", f"{path}/meetings", *a.street_admin, json=meeting("2025-02-10"))
    assert [m["chair_unit_id"] for m in (jan, jan2, feb)] == [str(a.units[0])] * 2 + [
        str(a.units[1])
    ]
    rotation = await s.ok("GET", f"{path}/rotation", *a.street_admin)
    assert [(p["number"], p["starts_on"], p["chair_unit_id"]) for p in rotation["periods"]] == [
        (1, "2025-01-01", str(a.units[0])),
        (2, "2025-02-01", str(a.units[1])),
        (3, "2025-03-01", str(a.units[2])),
    ]
    assert rotation["next_chair_unit_id"] == str(a.units[2])


async def test_who_may_run_and_read_an_alliance(agreements_service: Service) -> None:
    s = agreements_service
    a = await alliance(s)
    w, path = a.w, f"/alliances/{a.alliance_id}"
    record = meeting("2025-01-10", decision(w.community))

    async def post(url: str, role: Role, party: UUID, body: dict[str, Any]) -> Any:
        return await s.client.post(url, headers=s.as_(role, party), json=body)

    # Commands: the street's admins and the district's; no one else (403 with the reason).
    for role, party in (
        (Role.COMMUNITY_ADMIN, w.community),
        (Role.UNIT_ADMIN, a.units[0]),
        (Role.STREET_ADMIN, a.far_street),
    ):
        refused = await post(f"{path}/meetings", role, party, record)
        assert refused.status_code == 403, (role, refused.text)
        assert "record this alliance's meetings" in refused.json()["message"]
        joined = await post(f"{path}/members", role, party, {"unit_id": str(a.outsider)})
        assert joined.status_code == 403
    formed = await post(
        "/alliances",
        Role.COMMUNITY_ADMIN,
        w.community,
        {"host_party_id": str(w.street), "name": "x", "member_unit_ids": [str(a.units[0])]},
    )
    assert formed.status_code == 403 and "form its alliance" in formed.json()["message"]
    by_district = await post(f"{path}/meetings", Role.DISTRICT_ADMIN, w.district, record)
    assert by_district.status_code == 201, by_district.text

    # A community's own alliance is its community admin's (and the street's above it).
    own = await s.ok(
        "POST",
        "/alliances",
        Role.COMMUNITY_ADMIN,
        w.community,
        json={
            "host_party_id": str(w.community),
            "name": "和兴社区共建联盟",
            "member_unit_ids": [str(a.units[0])],
        },
    )
    by_street = await s.ok(
        "POST",
        f"/alliances/{own['alliance_id']}/meetings",
        Role.STREET_ADMIN,
        w.street,
        json=meeting(
            "2025-03-01",
            {"title": "楼道清理", "category": "happy_compound", "deadline": "2025-04-30"},
        ),
    )
    assert by_street["decisions"][0]["beneficiary_community_id"] == str(w.community)  # the default
    other = await post(
        f"/alliances/{own['alliance_id']}/meetings",
        Role.COMMUNITY_ADMIN,
        w.other_community,
        meeting("2025-03-01"),
    )
    assert other.status_code == 403

    # Reads: the host, its communities, member units (past ones too); 404 to anyone else.
    for role, party in (
        (Role.STREET_ADMIN, w.street),
        (Role.DISTRICT_ADMIN, w.district),
        (Role.COMMUNITY_ADMIN, w.other_community),
        (Role.UNIT_ADMIN, a.units[3]),
    ):
        await s.ok("GET", path, role, party)
        await s.ok("GET", f"{path}/meetings", role, party)
    meeting_id = by_district.json()["meeting_id"]
    for role, party in (
        (Role.UNIT_ADMIN, a.outsider),
        (Role.STREET_ADMIN, a.far_street),
        (Role.COMMUNITY_ADMIN, a.far_community),
    ):
        for url in (path, f"{path}/rotation", f"/meetings/{meeting_id}"):
            hidden = await s.client.get(url, headers=s.as_(role, party))
            assert hidden.status_code == 404, (url, role)
    missing = await s.client.get(f"/alliances/{uuid4()}", headers=s.as_(*a.street_admin))
    assert missing.status_code == 404
    # Lists: a community sees its street's alliance and its own; a unit its own.
    listed = await s.ok(
        "GET",
        "/alliances",
        Role.COMMUNITY_ADMIN,
        w.community,
        params={"party_id": str(w.community)},
    )
    assert {x["alliance_id"] for x in listed["items"]} == {str(a.alliance_id), own["alliance_id"]}
    of_unit = await s.ok(
        "GET", "/alliances", Role.UNIT_ADMIN, a.units[1], params={"party_id": str(a.units[1])}
    )
    assert [x["alliance_id"] for x in of_unit["items"]] == [str(a.alliance_id)]
    of_street = await s.ok(
        "GET", "/alliances", Role.DISTRICT_ADMIN, w.district, params={"party_id": str(w.street)}
    )
    assert {x["alliance_id"] for x in of_street["items"]} == {
        str(a.alliance_id),
        own["alliance_id"],
    }
    strange = await s.client.get(
        "/alliances", headers=s.as_(Role.UNIT_ADMIN, a.outsider), params={"party_id": str(w.street)}
    )
    assert strange.status_code == 403


async def test_bad_input_names_the_field(agreements_service: Service) -> None:
    s = agreements_service
    a = await alliance(s)
    w, path = a.w, f"/alliances/{a.alliance_id}"

    async def refused(url: str, body: dict[str, Any]) -> str:
        answer = await s.client.post(url, headers=s.as_(*a.street_admin), json=body)
        assert answer.status_code == 422, answer.text
        field: str = answer.json()["field"]
        return field

    form = {"host_party_id": str(w.street), "name": "联盟", "member_unit_ids": [str(a.units[0])]}
    assert (
        await refused("/alliances", {**form, "host_party_id": str(a.units[0])})
        == "body.host_party_id"
    )
    assert await refused(
        "/alliances", {**form, "member_unit_ids": [str(a.units[0]), str(w.community)]}
    ) == ("body.member_unit_ids.1")
    assert (
        await refused("/alliances", {**form, "rotation": {"mode": "per_period"}})
        == "body.rotation.period_months"
    )
    assert (
        await refused("/alliances", {**form, "rotation": {"order": [str(a.units[1])]}})
        == "body.rotation.order.0"
    )
    assert await refused("/alliances", {**form, "member_unit_ids": []}) == "body.member_unit_ids"
    at = f"{path}/meetings"
    assert await refused(at, meeting("2025-03-02")) == "body.held_on"  # after today
    assert await refused(at, meeting("2024-12-31")) == "body.held_on"  # before the alliance
    assert await refused(at, meeting("2025-01-10", decision(a.far_community))) == (
        "body.decisions.0.beneficiary_community_id"
    )
    assert await refused(
        at, meeting("2025-01-10", decision(w.community, deadline="2025-02-28"))
    ) == ("body.decisions.0.deadline")
    assert (
        await refused(
            at,
            meeting(
                "2025-01-10",
                decision(w.community),
                decision(w.community, responsible_unit_id=str(a.outsider)),
            ),
        )
        == "body.decisions.1.responsible_unit_id"
    )
    assert await refused(at, meeting("2025-01-10", decision(w.community, category="nope"))) == (
        "body.decisions.0.category"
    )
    assert await refused(at, meeting("2025-01-10", decision(w.community, funds_fen=-1))) == (
        "body.decisions.0.funds_fen"
    )
    assert (
        await refused(at, meeting("2025-01-10", present_unit_ids=[str(a.outsider)]))
        == "body.present_unit_ids.0"
    )
    assert await refused(
        at, meeting("2025-01-10", decision(w.community, beneficiary_community_id=None))
    ) == ("body.decisions.0.beneficiary_community_id")
    # Nothing was recorded by any of these.
    assert (await s.ok("GET", f"{path}/meetings", *a.street_admin))["total"] == 0


async def test_a_repeated_command_records_one_meeting(agreements_service: Service) -> None:
    s = agreements_service
    a = await alliance(s)
    headers = {**s.as_(*a.street_admin), "Idempotency-Key": f"meeting-{uuid4()}"}
    body = meeting("2025-01-10", decision(a.w.community))
    first = await s.client.post(f"/alliances/{a.alliance_id}/meetings", headers=headers, json=body)
    again = await s.client.post(f"/alliances/{a.alliance_id}/meetings", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    listed = await s.ok("GET", f"/alliances/{a.alliance_id}/decisions", *a.street_admin)
    assert listed["total"] == 1
