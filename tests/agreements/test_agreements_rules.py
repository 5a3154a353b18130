"""Authorisation, validation with nothing written, the concurrent double-sign, XLSX import."""

from __future__ import annotations

import asyncio
import io
from typing import Any
from uuid import UUID, uuid4

from agreements_support import Service, World, build_world, item, need_body, read_events
from cobuild_contracts import AgreementSigned, NeedPublished, Role
from openpyxl import Workbook


async def _count(s: Service, sql: str, *args: Any) -> int:
    async with s.rt.pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


async def _draft(s: Service, w: World) -> str:
    body = {
        "community_id": str(w.community),
        "unit_id": str(w.unit),
        "term_start": "2025-03-01",
        "term_end": "2025-12-31",
        "items": [item(w.unit, w.community, "社区法律讲座")],
    }
    return str(
        (await s.ok("POST", "/agreements", Role.UNIT_ADMIN, w.unit, json=body))["agreement_id"]
    )


async def test_authorisation_rules(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    aid = await _draft(s, w)

    async def status(method: str, url: str, role: Role, party: UUID, **kw: Any) -> tuple[int, str]:
        r = await s.client.request(method, url, headers=s.as_(role, party), **kw)
        return r.status_code, r.json().get("message", "")

    # A unit cannot sign for another unit's agreement.
    code, why = await status(
        "POST", f"/agreements/{aid}/signatures", Role.UNIT_ADMIN, w.other_unit, json={"version": 1}
    )
    assert code == 403 and "may not sign" in why
    # A token for community A cannot publish for community B.
    code, why = await status(
        "POST", "/needs", Role.COMMUNITY_ADMIN, w.other_community, json=need_body(w.community)
    )
    assert code == 403 and str(w.other_community) in why
    # A unit admin cannot publish needs, a community admin cannot offer resources.
    code, _ = await status("POST", "/needs", Role.UNIT_ADMIN, w.unit, json=need_body(w.community))
    assert code == 403
    # A street admin cannot register a unit nor a street; a district admin of another district
    # cannot register below this one.
    code, _ = await status(
        "POST",
        "/parties",
        Role.STREET_ADMIN,
        w.street,
        json={"kind": "unit", "name": "x", "parent_id": str(w.district), "unit_type": "school"},
    )
    assert code == 403
    code, _ = await status(
        "POST",
        "/parties",
        Role.DISTRICT_ADMIN,
        uuid4(),
        json={"kind": "street", "name": "x", "parent_id": str(w.district)},
    )
    assert code == 403
    code, _ = await status(
        "POST",
        "/parties",
        Role.DISTRICT_ADMIN,
        uuid4(),
        json={"party_id": str(uuid4()), "kind": "district", "name": "x"},
    )
    assert code == 403
    # Supervisors see the subtree; a street admin elsewhere does not; a member never. To them
    # the agreement does not exist: the answer is the one for an unknown id.
    assert (await status("GET", f"/agreements/{aid}", Role.STREET_ADMIN, w.street))[0] == 200
    assert (await status("GET", f"/agreements/{aid}", Role.DISTRICT_ADMIN, w.district))[0] == 200
    unknown = await status("GET", f"/agreements/{uuid4()}", Role.STREET_ADMIN, w.street)
    assert unknown[0] == 404
    for role, party in (
        (Role.STREET_ADMIN, uuid4()),
        (Role.UNIT_ADMIN, w.other_unit),
        (Role.MEMBER, w.unit),
    ):
        code, why = await status("GET", f"/agreements/{aid}", role, party)
        assert (code, why) == (404, f"agreement {aid} does not exist"), role
    # No token at all.
    assert (await s.client.get(f"/agreements/{aid}")).status_code == 401
    # The proposer's own side cannot counter its own draft (it awaits the other side).
    code, why = await status(
        "POST",
        f"/agreements/{aid}/counters",
        Role.UNIT_ADMIN,
        w.unit,
        json={
            "counters_version": 1,
            "term_start": "2025-03-01",
            "term_end": "2025-12-31",
            "items": [item(w.unit, w.community, "x")],
        },
    )
    assert code == 409 and "awaits the other party" in why
    assert await _count(s, "SELECT count(*) FROM proposal WHERE agreement_id = $1", UUID(aid)) == 1


async def test_bad_input_is_422_naming_the_field_with_nothing_written(
    agreements_service: Service,
) -> None:
    s = agreements_service
    w = await build_world(s)
    unit = (Role.UNIT_ADMIN, w.unit)
    outsider = uuid4()
    body = {
        "community_id": str(w.community),
        "unit_id": str(w.unit),
        "term_start": "2025-03-01",
        "term_end": "2025-12-31",
        "items": [item(w.unit, w.community, "ok"), item(outsider, w.community, "outside")],
    }
    before = await _count(s, "SELECT count(*) FROM agreement WHERE unit_id = $1", w.unit)
    outbox = await _count(s, "SELECT count(*) FROM outbox")
    r = await s.client.post("/agreements", json=body, headers=s.as_(*unit))
    assert r.status_code == 422 and r.json()["field"] == "body.items.1.obligor_party_id"
    body["items"] = [item(w.unit, w.community, "late", deadline="2025-02-28")]
    r = await s.client.post("/agreements", json=body, headers=s.as_(*unit))
    assert r.status_code == 422 and r.json()["field"] == "body.items.0.deadline"
    assert await _count(s, "SELECT count(*) FROM agreement WHERE unit_id = $1", w.unit) == before
    assert await _count(s, "SELECT count(*) FROM outbox") == outbox

    community = (Role.COMMUNITY_ADMIN, w.community)
    cases = {
        "body.category": need_body(w.community, category="space_travel"),
        "body.quantity": need_body(w.community, quantity=-1),
        "body.wanted_by": need_body(w.community, wanted_by="2025-02-28"),
        "body.kind": need_body(w.community, kind="micro_wish"),  # wishes belong to points
    }
    for field, bad in cases.items():
        r = await s.client.post("/needs", json=bad, headers=s.as_(*community))
        assert r.status_code == 422 and r.json()["field"] == field, (field, r.text)
    assert await _count(s, "SELECT count(*) FROM need WHERE community_id = $1", w.community) == 0
    assert await _count(s, "SELECT count(*) FROM outbox") == outbox


async def test_concurrent_double_sign_yields_one_agreement_signed(
    agreements_service: Service,
) -> None:
    s = agreements_service
    w = await build_world(s)
    aid = await _draft(s, w)
    unit = s.as_(Role.UNIT_ADMIN, w.unit)
    community = s.as_(Role.COMMUNITY_ADMIN, w.community)
    url = f"/agreements/{aid}/signatures"
    # Both parties at the same moment, each twice.
    responses = await asyncio.gather(
        *(
            s.client.post(url, json={"version": 1}, headers=h)
            for h in (unit, community, unit, community)
        )
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes.count("signed") == 1
    assert await _count(s, "SELECT count(*) FROM signature WHERE agreement_id = $1", UUID(aid)) == 2
    assert (
        await _count(
            s,
            "SELECT count(*) FROM outbox WHERE key = $1 AND event_type = 'agreement.signed'",
            aid,
        )
        == 1
    )
    signed = await read_events(
        s.bootstrap,
        lambda e, ev: isinstance(ev, AgreementSigned) and str(ev.agreement_id) == aid,
        1,
        settle=1.0,
    )
    assert len(signed) == 1


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = [
    "title",
    "category",
    "kind",
    "quantity",
    "quantity_unit",
    "wanted_by",
    "beneficiaries",
    "funds_fen",
]


async def test_xlsx_import_with_a_bad_row_imports_nothing(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    url = f"/communities/{w.community}/needs/import"
    headers = s.as_(Role.COMMUNITY_ADMIN, w.community)
    good = ["助老理发", "peoples_welfare", "volunteers", 10, "people", "2025-05-01", 40, 0]
    bad = ["楼道清洁", "space_travel", "task", 2, "times", "2025-05-01", 0, 0]
    worse = ["夜间巡逻", "neighbourhood_watch", "task", 0, "shifts", "2025-05-01", 0, 0]
    data = _xlsx([HEADER, good, bad, good, worse])
    files = {
        "file": (
            "needs.xlsx",
            data,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    }
    r = await s.client.post(url, files=files, headers=headers)
    assert r.status_code == 422, r.text
    report = {(e["row"], e["field"]) for e in r.json()["rows"]}
    assert report == {(3, "category"), (5, "quantity")}
    assert await _count(s, "SELECT count(*) FROM need WHERE community_id = $1", w.community) == 0

    # The same sheet fixed imports every row, each published (a real date cell works too).
    from datetime import date

    fixed = [
        HEADER,
        good,
        [*bad[:1], "happy_compound", *bad[2:]],
        [*good[:5], date(2025, 6, 1), 40, 0],
    ]
    r = await s.client.post(
        url,
        files={"file": ("needs.xlsx", _xlsx(fixed), "application/octet-stream")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 3
    ids = {UUID(i) for i in r.json()["need_ids"]}
    events = await read_events(
        s.bootstrap, lambda e, ev: isinstance(ev, NeedPublished) and ev.need_id in ids, 3
    )
    assert {ev.wanted_by.isoformat() for _, ev in events} == {"2025-05-01", "2025-06-01"}  # type: ignore[attr-defined]

    # Someone else's community: refused outright.
    other = s.as_(Role.COMMUNITY_ADMIN, w.other_community)
    r = await s.client.post(
        url, files={"file": ("needs.xlsx", _xlsx(fixed), "application/octet-stream")}, headers=other
    )
    assert r.status_code == 403


async def test_party_csv_import_is_all_or_nothing(agreements_service: Service) -> None:
    s = agreements_service
    w = await build_world(s)
    d = s.as_(Role.DISTRICT_ADMIN, w.district)
    tag = uuid4().hex[:8]
    csv_text = (
        "kind,name,code,parent,unit_type,paired_communities\n"
        f"community,和美社区,c-{tag},{w.street},,\n"
        f"unit,第一中学,u-{tag},{w.district},school,c-{tag}\n"
        f"unit,无类型单位,x-{tag},{w.district},,\n"
        f"grid,一网格,g-{tag},nope-{tag},,\n"
    )
    r = await s.client.post(
        "/parties/import", files={"file": ("p.csv", csv_text.encode(), "text/csv")}, headers=d
    )
    assert r.status_code == 422, r.text
    assert {(e["row"], e["field"]) for e in r.json()["rows"]} == {(4, "unit_type"), (5, "parent")}
    assert await _count(s, "SELECT count(*) FROM party WHERE code LIKE $1", f"%-{tag}") == 0

    good = "\n".join(csv_text.splitlines()[:3]) + f"\ngrid,一网格,g-{tag},c-{tag},,\n"
    r = await s.client.post(
        "/parties/import", files={"file": ("p.csv", good.encode(), "text/csv")}, headers=d
    )
    assert r.status_code == 201, r.text
    school = next(p for p in r.json()["parties"] if p["kind"] == "unit")
    community = next(p for p in r.json()["parties"] if p["kind"] == "community")
    assert school["paired_community_ids"] == [community["party_id"]]
    # The directory read model is updated in the same transaction: the school may act at once.
    res = await s.client.post(
        "/resources",
        json={
            "unit_id": school["party_id"],
            "category": "quality_service",
            "kind": "service_project",
            "title": "课后托管",
            "capacity": 30,
            "capacity_unit": "children",
            "available_from": "2025-03-01",
            "available_until": "2025-07-01",
        },
        headers=s.as_(Role.UNIT_ADMIN, UUID(school["party_id"])),
    )
    assert res.status_code == 201, res.text
    street_view = await s.client.get(
        f"/resources/{res.json()['resource_id']}", headers=s.as_(Role.STREET_ADMIN, w.street)
    )
    assert street_view.status_code == 200  # the street supervises the unit through its pairing


RESOURCE_HEADER = [
    "title",
    "category",
    "kind",
    "capacity",
    "capacity_unit",
    "available_from",
    "available_until",
    "funds_fen",
    "community_ids",
]


async def test_a_units_resource_sheet_imports_all_or_nothing_and_lists(
    agreements_service: Service,
) -> None:
    s = agreements_service
    w = await build_world(s)
    url = f"/units/{w.unit}/resources/import"
    headers = s.as_(Role.UNIT_ADMIN, w.unit)
    good = ["法律咨询", "quality_service", "service_project", 12, "场", "2025-03-01",
            "2025-12-31", 0, str(w.community)]  # fmt: skip
    bad = ["健康讲座", "space_travel", "service_project", 4, "场", "2025-03-01",
           "2025-12-31", 0, ""]  # fmt: skip
    worse = ["场地", "quality_service", "venue", 1, "间", "2025-03-01", "2025-12-31", 0, "nope"]
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = _xlsx([RESOURCE_HEADER, good, bad, worse])
    r = await s.client.post(url, files={"file": ("r.xlsx", sheet, xlsx)}, headers=headers)
    assert r.status_code == 422, r.text
    assert {(e["row"], e["field"]) for e in r.json()["rows"]} == {
        (3, "category"),
        (4, "community_ids.0"),
    }
    listed = await s.client.get("/resources", params={"unit_id": str(w.unit)}, headers=headers)
    assert listed.json()["total"] == 0

    fixed = _xlsx([RESOURCE_HEADER, good, [*bad[:1], "quality_service", *bad[2:]]])
    r = await s.client.post(url, files={"file": ("r.xlsx", fixed, xlsx)}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2
    listed = await s.client.get(
        "/resources", params={"unit_id": str(w.unit), "status": "offered"}, headers=headers
    )
    assert {i["title"] for i in listed.json()["items"]} == {"法律咨询", "健康讲座"}
    assert {tuple(i["community_ids"]) for i in listed.json()["items"]} == {
        (str(w.community),),
        (),
    }
    # Another unit's admin may neither import here nor read the list.
    other = s.as_(Role.UNIT_ADMIN, w.other_unit)
    r = await s.client.post(url, files={"file": ("r.xlsx", fixed, xlsx)}, headers=other)
    assert r.status_code == 403
    r = await s.client.get("/resources", params={"unit_id": str(w.unit)}, headers=other)
    assert r.status_code == 403
