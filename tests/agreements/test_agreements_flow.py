"""Over HTTP, against real PostgreSQL and the broker: publish → match → propose → counter →
sign → amend → terminate; a direct claim; the public wall."""

from __future__ import annotations

from uuid import UUID

from agreements_support import Service, build_world, item, need_body, read_events
from cobuild_contracts import (
    AgreementAmended,
    AgreementSigned,
    AgreementTerminated,
    MatchSuggested,
    NeedClaimed,
    Role,
)


async def test_need_to_signed_agreement_and_on(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    community = (Role.COMMUNITY_ADMIN, w.community)
    unit = (Role.UNIT_ADMIN, w.unit)

    # The unit offers first; the community's need is then matched to it.
    resource = await s.ok(
        "POST",
        "/resources",
        *unit,
        json={
            "unit_id": str(w.unit),
            "category": "happy_compound",
            "kind": "task",
            "title": "电工志愿服务队",
            "capacity": 60,
            "capacity_unit": "lamps",
            "funds_fen": 2_000_000,
            "available_from": "2025-03-01",
            "available_until": "2025-12-31",
        },
    )
    need = await s.ok("POST", "/needs", *community, json=need_body(w.community))
    need_id = need["need_id"]
    assert need["version"] == 1
    matches = (await s.ok("GET", f"/needs/{need_id}/matches", *community))["items"]
    assert matches[0]["rank"] == 1
    assert matches[0]["resource_id"] == resource["resource_id"]
    assert matches[0]["score"] == 100
    assert "the unit is paired with the community" in matches[0]["reasons"]
    by_resource = await s.ok("GET", f"/resources/{resource['resource_id']}/matches", *unit)
    # Other tests' needs may suit it too (the database is the session's): this one is there.
    assert need_id in [m["need_id"] for m in by_resource["items"]]
    assert [m["rank"] for m in by_resource["items"]] == list(range(1, by_resource["total"] + 1))

    # A revision keeps history and re-publishes with version + 1.
    revised = await s.ok(
        "PUT",
        f"/needs/{need_id}",
        *community,
        json={k: v for k, v in need_body(w.community, quantity=50).items() if k != "community_id"},
    )
    assert revised["version"] == 2
    shown = await s.ok("GET", f"/needs/{need_id}", *community)
    assert [h["version"] for h in shown["history"]] == [1, 2]

    # The unit proposes; the community counters; both sign version 2.
    draft = await s.ok(
        "POST",
        "/agreements",
        *unit,
        json={
            "community_id": str(w.community),
            "unit_id": str(w.unit),
            "term_start": "2025-03-01",
            "term_end": "2025-12-31",
            "need_id": need_id,
            "items": [
                item(
                    w.unit,
                    w.community,
                    "楼道照明改造",
                    need_id=need_id,
                    funds_fen=1_850_000,
                    quantity=48,
                    quantity_unit="lamps",
                ),
                item(
                    w.unit,
                    w.community,
                    "法律咨询",
                    kind="service_project",
                    category="quality_service",
                ),
            ],
        },
    )
    aid = draft["agreement_id"]
    v1 = {i["title"]: i["commitment_id"] for i in draft["rounds"][0]["items"]}
    assert draft["state"] == "negotiating" and draft["version"] == 1

    countered = await s.ok(
        "POST",
        f"/agreements/{aid}/counters",
        *community,
        json={
            "counters_version": 1,
            "term_start": "2025-03-01",
            "term_end": "2025-12-31",
            "items": [
                item(
                    w.unit,
                    w.community,
                    "楼道照明改造",
                    need_id=need_id,
                    funds_fen=1_850_000,
                    quantity=48,
                    quantity_unit="lamps",
                ),
                item(
                    w.unit,
                    w.community,
                    "法律咨询",
                    kind="service_project",
                    category="quality_service",
                    quantity=12,
                    quantity_unit="sessions",
                ),
                item(
                    w.community,
                    w.unit,
                    "开放党群服务中心会议室",
                    kind="venue",
                    category="quality_service",
                    deadline="2025-12-31",
                ),
            ],
        },
    )
    v2 = {i["title"]: i["commitment_id"] for i in countered["rounds"][1]["items"]}
    assert countered["version"] == 2 and len(countered["rounds"]) == 2
    assert v2["楼道照明改造"] == v1["楼道照明改造"]  # unchanged: same id
    assert v2["法律咨询"] != v1["法律咨询"]  # changed: a new commitment

    stale = await s.client.post(
        f"/agreements/{aid}/signatures", json={"version": 1}, headers=s.as_(*unit)
    )
    assert stale.status_code == 409, stale.text
    first = await s.ok("POST", f"/agreements/{aid}/signatures", *unit, json={"version": 2})
    assert first["outcome"] == "recorded"
    done = await s.ok("POST", f"/agreements/{aid}/signatures", *community, json={"version": 2})
    assert done["outcome"] == "signed"
    assert done["agreement"]["state"] == "signed" and len(done["agreement"]["commitments"]) == 3

    # agreement.signed is on Kafka with every commitment, valid against the contracts model.
    [(envelope, signed)] = await read_events(
        s.bootstrap,
        lambda e, ev: isinstance(ev, AgreementSigned) and ev.agreement_id == UUID(aid),
        1,
    )
    assert isinstance(signed, AgreementSigned)
    AgreementSigned.model_validate(envelope.payload)  # strict (producer-side) validation
    assert envelope.key == aid and signed.version == 2 and signed.origin.value == "negotiated"
    assert {i.commitment_id for i in signed.items} == {UUID(c) for c in v2.values()}
    assert (signed.street_id, signed.district_id) == (w.street, w.district)
    venue = next(i for i in signed.items if i.kind.value == "venue")
    assert (venue.obligor_party_id, venue.beneficiary_party_id) == (w.community, w.unit)

    # Amend: add one commitment, cancel another, through the same propose/sign cycle.
    amended = await s.ok(
        "POST",
        f"/agreements/{aid}/amendments",
        *community,
        json={
            "added_items": [
                item(
                    w.unit,
                    w.community,
                    "助老食堂资助",
                    kind="funds",
                    category="peoples_welfare",
                    funds_fen=5_000_000,
                )
            ],
            "cancelled_commitment_ids": [v2["法律咨询"]],
            "reason": "法律咨询改由街道统一安排",
        },
    )
    assert amended["state"] == "amending" and amended["version"] == 3
    await s.ok("POST", f"/agreements/{aid}/signatures", *community, json={"version": 3})
    after = await s.ok("POST", f"/agreements/{aid}/signatures", *unit, json={"version": 3})
    assert after["outcome"] == "amended"
    titles = sorted(c["title"] for c in after["agreement"]["commitments"])
    assert titles == sorted(["楼道照明改造", "开放党群服务中心会议室", "助老食堂资助"])

    # The public wall shows the agreement in force, without personal data.
    wall = (await s.client.get(f"/public/communities/{w.community}/agreements")).json()
    mine = next(a for a in wall["items"] if a["agreement_id"] == aid)
    assert len(mine["commitments"]) == 3
    assert all("responsible_member_id" not in c for c in mine["commitments"])

    # Terminate.
    ended = await s.ok("POST", f"/agreements/{aid}/termination", *unit, json={"reason": "单位撤并"})
    assert ended["state"] == "terminated"
    again = await s.client.post(
        f"/agreements/{aid}/termination", json={"reason": "x"}, headers=s.as_(*unit)
    )
    assert again.status_code == 409 and "terminated" in again.json()["message"]

    events = await read_events(
        s.bootstrap,
        lambda e, ev: (
            getattr(ev, "agreement_id", None) == UUID(aid)
            and isinstance(ev, AgreementAmended | AgreementTerminated)
        ),
        2,
    )
    amendment = next(ev for _, ev in events if isinstance(ev, AgreementAmended))
    assert isinstance(amendment, AgreementAmended)
    assert [i.title for i in amendment.added_items] == ["助老食堂资助"]
    assert amendment.cancelled_commitment_ids == [UUID(v2["法律咨询"])]
    suggested = await read_events(
        s.bootstrap,
        lambda e, ev: isinstance(ev, MatchSuggested) and ev.need_id == UUID(need_id),
        1,
    )
    assert suggested[0][1].resource_id == UUID(resource["resource_id"])  # type: ignore[attr-defined]


async def test_direct_claim_is_a_one_commitment_agreement(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    need = await s.ok(
        "POST",
        "/needs",
        Role.COMMUNITY_ADMIN,
        w.community,
        json=need_body(
            w.community,
            title="周末儿童课业辅导",
            kind="volunteers",
            quantity=20,
            quantity_unit="children",
            funds_fen=0,
        ),
    )
    wall = (await s.client.get(f"/public/communities/{w.community}/needs")).json()
    assert [n["need_id"] for n in wall["items"]] == [need["need_id"]]
    assert wall["community_name"] == "和兴社区" and wall["total"] == 1

    claimed = await s.ok(
        "POST",
        f"/needs/{need['need_id']}/claims",
        Role.UNIT_ADMIN,
        w.other_unit,
        json={"unit_id": str(w.other_unit), "responsible_title": "团委书记"},
    )
    assert claimed["origin"] == "claim" and claimed["state"] == "signed"
    assert len(claimed["commitments"]) == 1
    twice = await s.client.post(
        f"/needs/{need['need_id']}/claims",
        json={"unit_id": str(w.unit), "responsible_title": "x"},
        headers=s.as_(Role.UNIT_ADMIN, w.unit),
    )
    assert twice.status_code == 409 and "claimed" in twice.json()["message"]

    events = await read_events(
        s.bootstrap,
        lambda e, ev: (
            (isinstance(ev, NeedClaimed) and str(ev.need_id) == need["need_id"])
            or (isinstance(ev, AgreementSigned) and str(ev.agreement_id) == claimed["agreement_id"])
        ),
        2,
    )
    # Different keys, so different partitions on Kafka: the order is the outbox's.
    assert {type(ev) for _, ev in events} == {NeedClaimed, AgreementSigned}
    async with s.rt.pool.acquire() as conn:
        order = await conn.fetch(
            "SELECT event_type FROM outbox WHERE key = ANY($1::text[]) ORDER BY id",
            [need["need_id"], claimed["agreement_id"]],
        )
    assert [r["event_type"] for r in order][-2:] == ["need.claimed", "agreement.signed"]
    signed = next(ev for _, ev in events if isinstance(ev, AgreementSigned))
    assert isinstance(signed, AgreementSigned)
    assert signed.origin.value == "claim" and len(signed.items) == 1
    assert signed.items[0].need_id == UUID(need["need_id"])
    assert signed.items[0].obligor_party_id == w.other_unit
    wall = (await s.client.get(f"/public/communities/{w.community}/needs")).json()
    assert wall["items"] == []  # claimed: no longer an open need
