"""Personal data typed into free text (a phone or an ID number in a need's description): kept
as typed for the parties, masked on the public board and in every event, and named in the
publish answer's `warnings`."""

from __future__ import annotations

from typing import Any

from agreements_support import Service, build_world, need_body, read_events
from cobuild_agreements.domain.privacy import PersonalKind, mask, scan
from cobuild_contracts import AgreementSigned, NeedPublished, ResourceOffered, Role


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "community_id"}


def test_personal_data_is_found_and_masked() -> None:
    text = "联系王师傅 138 1234-5678，身份证 11010119900307123X，电话 010-12345678，座机：87654321"
    masked, found = scan(text)
    assert masked == (
        "联系王师傅 138****5678，身份证 1101**********123X，电话 010-****5678，座机：****4321"
    )
    assert sorted((f.kind, f.masked) for f in found) == sorted(
        [
            (PersonalKind.MOBILE, "138****5678"),
            (PersonalKind.ID_NUMBER, "1101**********123X"),
            (PersonalKind.LANDLINE, "010-****5678"),
            (PersonalKind.LANDLINE, "****4321"),
        ]
    )
    assert mask(masked) == masked  # masking twice changes nothing
    for clean in ("48盏灯，预算18500元，2025-06-30前完成", "编号 20250301123456", "13812345"):
        assert scan(clean) == (clean, [])


async def test_personal_data_is_masked_on_the_board_and_in_events(
    agreements_service: Service,
) -> None:
    s = agreements_service
    w = await build_world(s)
    community = (Role.COMMUNITY_ADMIN, w.community)
    description = "联系人王阿姨 13812345678，身份证110101199003071234"
    need = await s.ok(
        "POST",
        "/needs",
        *community,
        json=need_body(w.community, title="楼道照明 电话 010-12345678", description=description),
    )
    warned = {(x["field"], x["kind"], x["found"]) for x in need["warnings"]}
    assert warned == {
        ("body.title", "landline", "010-****5678"),
        ("body.description", "mobile", "138****5678"),
        ("body.description", "id_number", "1101**********1234"),
    }
    # The parties read what was typed.
    assert need["description"] == description
    shown = await s.ok("GET", f"/needs/{need['need_id']}", *community)
    assert shown["description"] == description
    # The public board shows it masked.
    board = (await s.client.get(f"/public/communities/{w.community}/needs")).json()
    [public] = [n for n in board["items"] if n["need_id"] == need["need_id"]]
    assert public["title"] == "楼道照明 电话 010-****5678"
    assert public["description"] == "联系人王阿姨 138****5678，身份证1101**********1234"
    # So do the bulk answer's items, and a resource's offer.
    bulk = await s.ok(
        "POST",
        f"/communities/{w.community}/needs/bulk",
        *community,
        json={"items": [_fields(need_body(w.community)), _fields(need_body(w.community,
              description="call 139-1234-5678"))]},
    )  # fmt: skip
    assert bulk["items"][0]["warnings"] == []
    assert [(x["field"], x["found"]) for x in bulk["items"][1]["warnings"]] == [
        ("body.items.1.description", "139****5678")
    ]
    resource = await s.ok(
        "POST",
        "/resources",
        Role.UNIT_ADMIN,
        w.unit,
        json={
            "unit_id": str(w.unit),
            "category": "happy_compound",
            "kind": "task",
            "title": "电工服务队",
            "description": "队长手机 13987654321",
            "capacity": 10,
            "capacity_unit": "lamps",
            "available_from": "2025-03-01",
            "available_until": "2025-12-31",
        },
    )
    assert [(x["field"], x["found"]) for x in resource["warnings"]] == [
        ("body.description", "139****4321")
    ]
    assert resource["description"] == "队长手机 13987654321"
    # A claim binds the need's text into the agreement: it is masked there too.
    claimed = await s.ok(
        "POST",
        f"/needs/{need['need_id']}/claims",
        Role.UNIT_ADMIN,
        w.unit,
        json={"unit_id": str(w.unit), "responsible_title": "书记"},
    )
    # The events carry the masked text only.
    events = await read_events(
        s.bootstrap,
        lambda e, ev: (
            (isinstance(ev, NeedPublished) and str(ev.need_id) == need["need_id"])
            or (isinstance(ev, ResourceOffered) and str(ev.resource_id) == resource["resource_id"])
            or (isinstance(ev, AgreementSigned) and str(ev.agreement_id) == claimed["agreement_id"])
        ),
        3,
    )
    texts: list[str] = []
    for _, ev in events:
        if isinstance(ev, AgreementSigned):
            texts += [t for i in ev.items for t in (i.title, i.description)]
        else:
            assert isinstance(ev, NeedPublished | ResourceOffered)
            texts += [ev.title, ev.description]
    assert "联系人王阿姨 138****5678，身份证1101**********1234" in texts
    assert "队长手机 139****4321" in texts
    for t in texts:
        assert scan(t)[1] == [], t
    # Nor does any event in the outbox (the withdrawal's reason included).
    r = await s.client.post(
        f"/needs/{bulk['items'][1]['need_id']}/withdraw",
        json={"reason": "已解决，请联系 13812345678"},
        headers=s.as_(*community),
    )
    assert r.status_code == 200, r.text
    async with s.rt.pool.acquire() as conn:
        leaked = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE envelope::text ~ $1",
            "13812345678|13987654321|139-1234-5678|110101199003071234|12345678",
        )
    assert leaked == 0
