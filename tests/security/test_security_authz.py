"""The authorisation matrix: every route of every service × every role × own party vs another.

Each row below names a route and, per role, whether a token of that role may call it:
  "own"  the role's own party may (the party the request is about, or the one above it),
         a party of the same kind elsewhere may not;
  "any"  both may;
  "-"    neither may;
  "pub"  the route needs no token at all (public and ops routes).
Own and other parties come from the seeded world (security_support.World): district D
supervises street S, S supervises community C, unit U is paired with C, member M works for U
and serves in C, expert E is assigned to commitment K1. The "other" party of each kind (d, s,
c, u, m, e) sits elsewhere. Allowed → not 401/403; refused → 403 with a reason (a hidden read:
404 naming a path parameter, and allowed → not 404 either), and nothing written (no outbox row
in any service). A route without a row fails the coverage test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastapi.routing
import jwt
import pytest
from cobuild_contracts import Role
from cobuild_kit.auth import generate_keypair, issue_token
from security_support import (
    PNG,
    YEAR,
    Suite,
    World,
    build_world,
    item,
    need_body,
    resource_body,
)

ROLES = (Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN,
         Role.MEMBER, Role.EXPERT)  # fmt: skip
Request = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    service: str
    route: str  # "METHOD /path/{template}"
    expect: tuple[str, str, str, str, str, str]  # D S C U M E
    request: Request
    # Some refusals are not 403 by nature: an import refuses rows in its 422 row report,
    # a member checking in to an activity they never signed up for gets 409.
    deny_also: tuple[int, ...] = ()
    # A read of what lies outside the actor's subtree answers 404, as for an id that does not
    # exist (so existence does not leak): the refusal is a 404 naming a path parameter.
    hidden: bool = False


def req(method: str, url: str, **kw: Any) -> dict[str, Any]:
    return {"method": method, "url": url, **kw}


def fresh() -> str:
    return uuid.uuid4().hex[:8]


def csv(text: str) -> dict[str, Any]:
    return {"file": ("rows.csv", text.encode(), "text/csv")}


def _parties_csv(w: World) -> dict[str, Any]:
    return csv(f"kind,name,parent\ncommunity,导入社区 {fresh()},{w.S}\n")


def _needs_csv(w: World) -> dict[str, Any]:
    return csv("category,kind,title,quantity,quantity_unit,wanted_by\n"
               "happy_compound,task,修路灯,3,lamps,2025-06-30\n")  # fmt: skip


def _resources_csv(w: World) -> dict[str, Any]:
    return csv("category,kind,title,capacity,capacity_unit,available_from,available_until\n"
               "happy_compound,task,电工志愿服务,10,sessions,2025-03-01,2025-12-31\n")  # fmt: skip


def _roster_csv(w: World) -> dict[str, Any]:
    phone = "139" + str(uuid.uuid4().int)[:8]
    return csv(f"name,phone,unit_id,community_id\n王五,{phone},{w.U},{w.C}\n")


def _proposal(w: World) -> dict[str, Any]:
    return {"community_id": str(w.C), "unit_id": str(w.U), "term_start": "2025-03-01",
            "term_end": "2025-12-31", "items": [item(w)]}  # fmt: skip


def _fields(body: dict[str, Any], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in drop}


PUB = ("pub",) * 6
ALL = ("any",) * 6
OPS = [
    ("GET /healthz", lambda w: req("GET", "/healthz")),
    ("GET /readyz", lambda w: req("GET", "/readyz")),
]
DOCS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")  # FastAPI's own pages


# Operations are the operator role's (tests/kit: an operator gets them): none of the six.
OPERATOR_ONLY = [
    ("GET /metrics", lambda w: req("GET", "/metrics")),
    ("GET /ops/lag", lambda w: req("GET", "/ops/lag")),
    ("POST /ops/consumers/rewind", lambda w: req("POST", "/ops/consumers/rewind")),
]


def ops_rows(service: str) -> list[Row]:
    return [
        *(Row(service, route, PUB, request) for route, request in OPS),
        *(Row(service, route, ("-",) * 6, request) for route, request in OPERATOR_ONLY),
    ]


A = "agreements"
# An alliance's reads: the host street's admins and the district above, the communities of the
# street, member units; to anyone else it does not exist (404).
READ_AL = ("own", "own", "own", "own", "-", "-")
# Its commands: the host street's admins and the supervisors above it.
RUN_AL = ("own", "own", "-", "-", "-", "-")
# fmt: off
AGREEMENTS = [
    *ops_rows(A),
    #                                                         D      S      C      U      M    E
    Row(A, "POST /parties",                                ("own", "own", "-",   "-",   "-", "-"),
        lambda w: req("POST", "/parties", json={"kind": "community", "name": f"新社区 {fresh()}",
                                                "parent_id": str(w.S)})),
    Row(A, "PATCH /parties/{party_id}",                    ("own", "own", "-",   "-",   "-", "-"),
        lambda w: req("PATCH", f"/parties/{w.C}", json={"name": f"和兴社区 {fresh()}"})),
    Row(A, "PUT /parties/{party_id}/pairings",             ("own", "-",   "-",   "-",   "-", "-"),
        lambda w: req("PUT", f"/parties/{w.U}/pairings", json={"community_ids": [str(w.C)]})),
    Row(A, "GET /parties/{party_id}",                      ALL,
        lambda w: req("GET", f"/parties/{w.C}")),
    Row(A, "GET /parties/{party_id}/history",              ("own", "own", "-",   "-",   "-", "-"),
        lambda w: req("GET", f"/parties/{w.C}/history")),
    Row(A, "GET /parties",                                 ALL,
        lambda w: req("GET", "/parties", params={"parent_id": str(w.S)})),
    Row(A, "POST /parties/import",                         ("own", "own", "-",   "-",   "-", "-"),
        lambda w: req("POST", "/parties/import", files=_parties_csv(w)), deny_also=(422,)),
    Row(A, "POST /needs",                                  ("-",   "-",   "own", "-",   "-", "-"),
        lambda w: req("POST", "/needs", json=need_body(w.C))),
    Row(A, "PUT /needs/{need_id}",                         ("-",   "-",   "own", "-",   "-", "-"),
        lambda w: req("PUT", f"/needs/{w.need}", json=_fields(need_body(w.C), "community_id"))),
    Row(A, "GET /needs/{need_id}",                         ("own", "own", "own", "any", "-", "-"),
        lambda w: req("GET", f"/needs/{w.need}"), hidden=True),
    Row(A, "GET /needs",                                   ("own", "own", "own", "-",   "-", "-"),
        lambda w: req("GET", "/needs", params={"community_id": str(w.C)})),
    Row(A, "GET /needs/{need_id}/matches",                 ("own", "own", "own", "any", "-", "-"),
        lambda w: req("GET", f"/needs/{w.need}/matches"), hidden=True),
    Row(A, "POST /communities/{community_id}/needs/import", ("-",  "-",   "own", "-",   "-", "-"),
        lambda w: req("POST", f"/communities/{w.C}/needs/import", files=_needs_csv(w))),
    Row(A, "POST /communities/{community_id}/needs/bulk",  ("-",   "-",   "own", "-",   "-", "-"),
        lambda w: req("POST", f"/communities/{w.C}/needs/bulk",
                      json={"items": [_fields(need_body(w.C), "community_id")]})),
    Row(A, "POST /resources",                              ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("POST", "/resources", json=resource_body(w.U))),
    Row(A, "PUT /resources/{resource_id}",                 ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("PUT", f"/resources/{w.resource}",
                      json=_fields(resource_body(w.U), "unit_id"))),
    Row(A, "GET /resources/{resource_id}",                 ("own", "own", "any", "own", "-", "-"),
        lambda w: req("GET", f"/resources/{w.resource}"), hidden=True),
    Row(A, "GET /resources/{resource_id}/matches",         ("own", "own", "-",   "own", "-", "-"),
        lambda w: req("GET", f"/resources/{w.resource}/matches"), hidden=True),
    Row(A, "GET /resources",                               ("own", "own", "any", "own", "-", "-"),
        lambda w: req("GET", "/resources", params={"unit_id": str(w.U)})),
    Row(A, "POST /units/{unit_id}/resources/import",       ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("POST", f"/units/{w.U}/resources/import", files=_resources_csv(w))),
    Row(A, "POST /units/{unit_id}/resources/bulk",         ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("POST", f"/units/{w.U}/resources/bulk",
                      json={"items": [_fields(resource_body(w.U), "unit_id")]})),
    Row(A, "POST /agreements",                             ("-",   "-",   "own", "own", "-", "-"),
        lambda w: req("POST", "/agreements", json=_proposal(w))),
    Row(A, "POST /agreements/{agreement_id}/counters",     ("-",   "-",   "own", "own", "-", "-"),
        lambda w: req("POST", f"/agreements/{w.agreement}/counters",
                      json={**_fields(_proposal(w), "community_id", "unit_id"),
                            "counters_version": 1})),
    Row(A, "POST /agreements/{agreement_id}/signatures",   ("-",   "-",   "own", "own", "-", "-"),
        lambda w: req("POST", f"/agreements/{w.agreement}/signatures", json={"version": 1})),
    Row(A, "GET /agreements/{agreement_id}",               ("own", "own", "own", "own", "-", "-"),
        lambda w: req("GET", f"/agreements/{w.agreement}"), hidden=True),
    Row(A, "GET /agreements",                              ("own", "own", "own", "-",   "-", "-"),
        lambda w: req("GET", "/agreements", params={"party_id": str(w.C)})),
    Row(A, "POST /needs/{need_id}/claims",                 ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("POST", f"/needs/{w.need}/claims",
                      json={"unit_id": str(w.U), "responsible_title": "书记"})),
    Row(A, "POST /needs/{need_id}/withdraw",               ("-",   "-",   "own", "-",   "-", "-"),
        lambda w: req("POST", f"/needs/{w.need}/withdraw", json={"reason": "done elsewhere"})),
    Row(A, "POST /resources/{resource_id}/withdraw",       ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("POST", f"/resources/{w.resource}/withdraw", json={"reason": "used up"})),
    Row(A, "POST /agreements/{agreement_id}/amendments",   ("-",   "-",   "own", "own", "-", "-"),
        lambda w: req("POST", f"/agreements/{w.agreement}/amendments",
                      json={"reason": "more work", "added_items": [item(w)]})),
    Row(A, "POST /agreements/{agreement_id}/termination",  ("-",   "-",   "own", "own", "-", "-"),
        lambda w: req("POST", f"/agreements/{w.agreement}/termination",
                      json={"reason": "unit moved"})),
    # Alliances: reads first, then the meeting (U chairs), then the membership changes.
    Row(A, "GET /alliances",                               ("own", "own", "own", "-",   "-", "-"),
        lambda w: req("GET", "/alliances", params={"party_id": str(w.C)})),
    Row(A, "GET /alliances/{alliance_id}",                 READ_AL,
        lambda w: req("GET", f"/alliances/{w.alliance}"), hidden=True),
    Row(A, "GET /alliances/{alliance_id}/rotation",        READ_AL,
        lambda w: req("GET", f"/alliances/{w.alliance}/rotation"), hidden=True),
    Row(A, "GET /alliances/{alliance_id}/meetings",        READ_AL,
        lambda w: req("GET", f"/alliances/{w.alliance}/meetings"), hidden=True),
    Row(A, "GET /alliances/{alliance_id}/decisions",       READ_AL,
        lambda w: req("GET", f"/alliances/{w.alliance}/decisions"), hidden=True),
    Row(A, "GET /meetings/{meeting_id}",                   READ_AL,
        lambda w: req("GET", f"/meetings/{w.meeting}"), hidden=True),
    Row(A, "POST /alliances",                              RUN_AL,
        lambda w: req("POST", "/alliances", json={
            "host_party_id": str(w.S), "name": f"联盟 {fresh()}", "member_unit_ids": [str(w.U)]})),
    Row(A, "POST /alliances/{alliance_id}/meetings",       RUN_AL,
        lambda w: req("POST", f"/alliances/{w.alliance}/meetings", json={"title": "联席会议"})),
    Row(A, "PUT /alliances/{alliance_id}/rotation",        RUN_AL,
        lambda w: req("PUT", f"/alliances/{w.alliance}/rotation", json={"order": [str(w.U)]})),
    Row(A, "POST /alliances/{alliance_id}/members",        RUN_AL,
        lambda w: req("POST", f"/alliances/{w.alliance}/members", json={"unit_id": str(w.u)})),
    Row(A, "POST /alliances/{alliance_id}/members/{unit_id}/departure", RUN_AL,
        lambda w: req("POST", f"/alliances/{w.alliance}/members/{w.u}/departure", json={
            "left_on": "2025-03-02"})),
    Row(A, "GET /public/communities/{community_id}/needs", PUB,
        lambda w: req("GET", f"/public/communities/{w.C}/needs")),
    Row(A, "GET /public/communities/{community_id}/agreements", PUB,
        lambda w: req("GET", f"/public/communities/{w.C}/agreements")),
    Row(A, "GET /reference", PUB, lambda w: req("GET", "/reference")),
]

K = "commitments"
READ_K = ("own", "own", "own", "own", "-", "-")  # both parties and the supervisors above them
# ... and the expert assigned to score it (E on K1; issue 36: experts see what they score).
SCORED_K = ("own", "own", "own", "own", "-", "own")
COMMITMENTS = [
    *ops_rows(K),
    #                                                          D      S      C      U      M    E
    Row(K, "GET /public/commitments/{commitment_id}",       PUB,
        lambda w: req("GET", f"/public/commitments/{w.k1}")),
    Row(K, "GET /commitments/{commitment_id}",              SCORED_K,
        lambda w: req("GET", f"/commitments/{w.k1}"), hidden=True),
    Row(K, "GET /commitments/{commitment_id}/history",      READ_K,
        lambda w: req("GET", f"/commitments/{w.k1}/history"), hidden=True),
    Row(K, "GET /commitments/{commitment_id}/evidence",     SCORED_K,
        lambda w: req("GET", f"/commitments/{w.k1}/evidence"), hidden=True),
    Row(K, "GET /commitments/{commitment_id}/evidence/{evidence_id}", SCORED_K,
        lambda w: req("GET", f"/commitments/{w.k1}/evidence/{w.evidence}"), hidden=True),
    Row(K, "GET /commitments",                              ("any", "any", "any", "any", "-", "-"),
        lambda w: req("GET", "/commitments")),
    Row(K, "GET /units/{unit_id}/tasks",                    ("own", "own", "-",   "own", "-", "-"),
        lambda w: req("GET", f"/units/{w.U}/tasks"), hidden=True),
    Row(K, "GET /communities/{community_id}/tasks",         ("own", "own", "own", "-",   "-", "-"),
        lambda w: req("GET", f"/communities/{w.C}/tasks"), hidden=True),
    Row(K, "POST /commitments/{commitment_id}/claim",       ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("POST", f"/commitments/{w.k2}/claim")),
    Row(K, "PUT /commitments/{commitment_id}/assignees",    ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("PUT", f"/commitments/{w.k2}/assignees", json={"member_ids": [str(w.M)]})),
    Row(K, "POST /commitments/{commitment_id}/progress",    ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("POST", f"/commitments/{w.k2}/progress", json={"percent": 50})),
    Row(K, "POST /commitments/{commitment_id}/evidence",    ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("POST", f"/commitments/{w.k2}/evidence",
                      files={"file": ("p.png", PNG, "image/png")})),
    Row(K, "POST /commitments/{commitment_id}/done",        ("-",   "-",   "-",   "own", "-", "-"),
        lambda w: req("POST", f"/commitments/{w.k2}/done", json={})),
    Row(K, "POST /commitments/{commitment_id}/refuse",      ("-",   "-",   "own", "-",   "-", "-"),
        lambda w: req("POST", f"/commitments/{w.k2}/refuse", json={"reason": "lamps missing"})),
    Row(K, "POST /commitments/{commitment_id}/confirm",     ("-",   "-",   "own", "-",   "-", "-"),
        lambda w: req("POST", f"/commitments/{w.k2}/confirm", json={})),
]

P = "points"
P_ADMINS = ("any", "any", "any", "-", "-", "-")
POINTS = [
    *ops_rows(P),
    #                                                          D      S      C      U      M      E
    Row(P, "POST /members",                                 ("-",   "-",   "own", "own", "-",   "-"),
        lambda w: req("POST", "/members", json={"name": "李四", "phone": "139" + str(
            uuid.uuid4().int)[:8], "unit_id": str(w.U), "community_id": str(w.C)})),
    Row(P, "POST /members/import",                          ("-",   "-",   "own", "own", "-",   "-"),
        lambda w: req("POST", "/members/import", files=_roster_csv(w)), deny_also=(422,)),
    Row(P, "GET /members/{member_id}",                      ("-",   "-",   "own", "-",   "own", "-"),
        lambda w: req("GET", f"/members/{w.M}"), hidden=True),
    Row(P, "GET /members/{member_id}/export",               ("-",   "-",   "-",   "-",   "own", "-"),
        lambda w: req("GET", f"/members/{w.M}/export"), hidden=True),
    Row(P, "PATCH /members/{member_id}/preferences",        ("-",   "-",   "-",   "-",   "own", "-"),
        lambda w: req("PATCH", f"/members/{w.M}/preferences", json={"show_full_name": False})),
    # The member, or the admin of the community they live in on their behalf (代录).
    Row(P, "POST /members/{member_id}/report",              ("-",   "-",   "own", "-",   "own", "-"),
        lambda w: req("POST", f"/members/{w.M}/report", json={})),
    Row(P, "POST /members/{member_id}/report/accept",       ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("POST", f"/members/{w.M}/report/accept")),
    Row(P, "POST /members/{member_id}/report/decline",      ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("POST", f"/members/{w.M}/report/decline", json={"reason": "not here"})),
    Row(P, "GET /units/{unit_id}/members",                  ("-",   "-",   "-",   "own", "-",   "-"),
        lambda w: req("GET", f"/units/{w.U}/members"), hidden=True),
    Row(P, "GET /communities/{community_id}/members",       ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("GET", f"/communities/{w.C}/members"), hidden=True),
    Row(P, "POST /communities/{community_id}/reports/accept", ("-", "-",   "own", "-",   "-",   "-"),
        lambda w: req("POST", f"/communities/{w.C}/reports/accept",
                      json={"member_ids": [str(w.M)]})),
    Row(P, "POST /communities/{community_id}/reports/decline", ("-", "-",  "own", "-",   "-",   "-"),
        lambda w: req("POST", f"/communities/{w.C}/reports/decline",
                      json={"member_ids": [str(w.M)], "reason": "not here"})),
    Row(P, "POST /units/{unit_id}/members/bulk",            ("-",   "-",   "own", "own", "-",   "-"),
        lambda w: req("POST", f"/units/{w.U}/members/bulk", json={"members": [{
            "name": "赵六", "phone": "139" + str(uuid.uuid4().int)[:8],
            "community_id": str(w.C)}]})),
    Row(P, "POST /activities",                              ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("POST", "/activities", json={
            "community_id": str(w.C), "title": "义诊", "category": "happy_compound",
            "starts_at": "2025-03-02T01:00:00+00:00", "ends_at": "2025-03-02T03:00:00+00:00",
            "place": "活动室", "capacity": 5})),
    Row(P, "GET /communities/{community_id}/activities",    ALL,
        lambda w: req("GET", f"/communities/{w.C}/activities")),
    Row(P, "GET /activities/{activity_id}/check-in-code",   ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("GET", f"/activities/{w.activity}/check-in-code"), hidden=True),
    Row(P, "GET /activities/{activity_id}/check-in-token",  ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("GET", f"/activities/{w.activity}/check-in-token"), hidden=True),
    Row(P, "GET /activities/{activity_id}/sign-ups",        ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("GET", f"/activities/{w.activity}/sign-ups"), hidden=True),
    Row(P, "POST /activities/{activity_id}/sign-ups",       ("-",   "-",   "-",   "-",   "own", "-"),
        lambda w: req("POST", f"/activities/{w.activity}/sign-ups")),
    Row(P, "DELETE /activities/{activity_id}/sign-ups/{member_id}", ("-", "-", "own", "-", "own", "-"),
        lambda w: req("DELETE", f"/activities/{w.activity}/sign-ups/{w.M}"), deny_also=(404, 409)),
    Row(P, "POST /activities/{activity_id}/check-in",       ("-",   "-",   "-",   "-",   "own", "-"),
        lambda w: req("POST", f"/activities/{w.activity}/check-in", json={"code": "000000"}),
        deny_also=(409,)),
    Row(P, "POST /activities/{activity_id}/attendances",    ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("POST", f"/activities/{w.activity}/attendances",
                      json={"member_id": str(w.M), "hours": "2"})),
    Row(P, "POST /activities/{activity_id}/attendances/bulk", ("-", "-",   "own", "-",   "-",   "-"),
        lambda w: req("POST", f"/activities/{w.activity}/attendances/bulk",
                      json={"attendance": [{"member_id": str(w.M), "hours": "2"}]})),
    Row(P, "POST /wishes",                                  ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("POST", "/wishes", json={"community_id": str(w.C), "title": "修轮椅"})),
    Row(P, "GET /communities/{community_id}/wishes",        ALL,
        lambda w: req("GET", f"/communities/{w.C}/wishes")),
    Row(P, "POST /wishes/{wish_id}/claim",                  ("-",   "-",   "-",   "-",   "own", "-"),
        lambda w: req("POST", f"/wishes/{w.wish}/claim")),
    Row(P, "POST /wishes/{wish_id}/done",                   ("-",   "-",   "-",   "-",   "own", "-"),
        lambda w: req("POST", f"/wishes/{w.wish}/done")),
    Row(P, "POST /wishes/{wish_id}/confirm",                ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("POST", f"/wishes/{w.wish}/confirm")),
    Row(P, "GET /members/{member_id}/points",               ("-",   "-",   "own", "own", "own", "-"),
        lambda w: req("GET", f"/members/{w.M}/points", params={"year": YEAR}), hidden=True),
    Row(P, "GET /members/{member_id}/points/verify",        ("-",   "-",   "own", "-",   "own", "-"),
        lambda w: req("GET", f"/members/{w.M}/points/verify", params={"year": YEAR}), hidden=True),
    Row(P, "GET /communities/{community_id}/points",        ("own", "own", "own", "-",   "-",   "-"),
        lambda w: req("GET", f"/communities/{w.C}/points", params={"year": YEAR}), hidden=True),
    Row(P, "GET /units/{unit_id}/points",                   ("own", "own", "-",   "own", "-",   "-"),
        lambda w: req("GET", f"/units/{w.U}/points", params={"year": YEAR}), hidden=True),
    Row(P, "POST /points/entries/{entry_id}/reversal",      ("-",   "-",   "own", "-",   "-",   "-"),
        lambda w: req("POST", f"/points/entries/{w.entry}/reversal", json={"reason": "typo"})),
    Row(P, "GET /points/verify",                            P_ADMINS,
        lambda w: req("GET", "/points/verify", params={"year": YEAR})),
    Row(P, "GET /points/rules",                             ALL,
        lambda w: req("GET", "/points/rules", params={"year": YEAR})),
    Row(P, "GET /public/communities/{community_id}/honour-roll", PUB,
        lambda w: req("GET", f"/public/communities/{w.C}/honour-roll", params={"year": YEAR})),
    # Last: these end or move M's membership.
    Row(P, "POST /members/{member_id}/leave",               ("-",   "-",   "own", "own", "own", "-"),
        lambda w: req("POST", f"/members/{w.M}/leave", json={"reason": "retired"})),
    Row(P, "POST /members/{member_id}/transfer",            ("-",   "-",   "own", "-",   "own", "-"),
        lambda w: req("POST", f"/members/{w.M}/transfer", json={"to_community_id": str(w.c)})),
]

E = "evaluation"
LEDGER_C = ("own", "own", "own", "-", "-", "-")
EVALUATION = [
    *ops_rows(E),
    #                                                          D      S      C      U      M    E
    Row(E, "GET /ledger",                                   LEDGER_C,
        lambda w: req("GET", "/ledger", params={"scope": "community", "id": str(w.C)}),
        deny_also=(404,)),
    Row(E, "GET /exports/ledger.{fmt}",                     LEDGER_C,
        lambda w: req("GET", "/exports/ledger.csv", params={"scope": "community", "id": str(w.C)}),
        deny_also=(404,)),
    Row(E, "GET /ledger/overdue",                           LEDGER_C,
        lambda w: req("GET", "/ledger/overdue", params={"scope": "community", "id": str(w.C)}),
        deny_also=(404,)),
    Row(E, "GET /ledger/units",                             LEDGER_C,
        lambda w: req("GET", "/ledger/units", params={"scope": "community", "id": str(w.C)}),
        deny_also=(404,)),
    # Operators' only (role operator, not among the six here).
    Row(E, "POST /ops/ledger/rebuild",                      ("-",   "-",   "-",   "-",   "-", "-"),
        lambda w: req("POST", "/ops/ledger/rebuild")),
    Row(E, "GET /whistle-rates",                            LEDGER_C,
        lambda w: req("GET", "/whistle-rates", params={"scope": "community", "id": str(w.C)}),
        deny_also=(404,)),
    Row(E, "POST /commitments/{commitment_id}/resident-codes", ("-", "-",  "own", "-",   "-", "-"),
        lambda w: req("POST", f"/commitments/{w.k1}/resident-codes", json={"count": 1})),
    Row(E, "GET /public/resident-codes/{code}",             PUB,
        lambda w: req("GET", "/public/resident-codes/unknown-code-0000")),
    Row(E, "POST /public/resident-evaluations",             PUB,
        lambda w: req("POST", "/public/resident-evaluations",
                      json={"code": "not-a-real-code-000", "rating": 5})),
    Row(E, "POST /experts",                                 ("any", "-",   "-",   "-",   "-", "-"),
        lambda w: req("POST", "/experts", json={"name": "评审专家"})),
    Row(E, "GET /experts",                                  ("any", "-",   "-",   "-",   "-", "-"),
        lambda w: req("GET", "/experts")),
    Row(E, "POST /expert-assignments",                      ("own", "-",   "-",   "-",   "-", "-"),
        lambda w: req("POST", "/expert-assignments", json={
            "expert_id": str(w.e), "subject_kind": "commitment", "subject_id": str(w.k1),
            "criteria": ["quality"]})),
    Row(E, "GET /expert-assignments",                       ("-",   "-",   "-",   "-",   "-", "any"),
        lambda w: req("GET", "/expert-assignments")),
    Row(E, "POST /expert-evaluations",                      ("-",   "-",   "-",   "-",   "-", "own"),
        lambda w: req("POST", "/expert-evaluations", json={
            "subject_kind": "commitment", "subject_id": str(w.k1),
            "criteria": {"quality": 90, "timeliness": 80}})),
    Row(E, "POST /member-ratings",                          ("-",   "-",   "own", "-",   "-", "-"),
        lambda w: req("POST", "/member-ratings",
                      json={"member_id": str(w.M), "year": YEAR, "score": "95"})),
    Row(E, "GET /evaluations",                              READ_K,
        lambda w: req("GET", "/evaluations",
                      params={"subject_kind": "commitment", "subject_id": str(w.k1)}),
        deny_also=(404,)),
    Row(E, "POST /assessments/{year}/preview",              ("own", "-",   "-",   "-",   "-", "-"),
        lambda w: req("POST", f"/assessments/{YEAR}/preview", json={"district_id": str(w.D)})),
    Row(E, "POST /assessments/{year}/publish",              ("own", "-",   "-",   "-",   "-", "-"),
        lambda w: req("POST", f"/assessments/{YEAR}/publish", json={"district_id": str(w.D)})),
    Row(E, "GET /assessments/{year}",                       ("own", "-",   "-",   "-",   "-", "-"),
        lambda w: req("GET", f"/assessments/{YEAR}", params={"district_id": str(w.D)}),
        deny_also=(404,)),
    Row(E, "GET /assessments/{year}/rankings",              LEDGER_C,
        lambda w: req("GET", f"/assessments/{YEAR}/rankings",
                      params={"district_id": str(w.D), "scope": "community", "id": str(w.C)}),
        deny_also=(404,)),
    Row(E, "GET /exports/assessments/{year}.{fmt}",         ("own", "-",   "-",   "-",   "-", "-"),
        lambda w: req("GET", f"/exports/assessments/{YEAR}.xlsx", params={"district_id": str(w.D)}),
        deny_also=(404,)),
    # The 公示 period (issue 35). One's own score and objection name no party: the token's.
    Row(E, "GET /assessments/{year}/own",                   ("-",   "-",   "-",   "any", "any", "-"),
        lambda w: req("GET", f"/assessments/{YEAR}/own")),
    Row(E, "POST /assessments/{year}/objections",           ("-",   "-",   "-",   "any", "any", "-"),
        lambda w: req("POST", f"/assessments/{YEAR}/objections", data={"reason": "少算了积分"},
                      files={"files": ("sheet.png", PNG, "image/png")})),
    Row(E, "GET /assessments/{year}/objections",            ("own", "-",   "-",   "-",   "-", "-"),
        lambda w: req("GET", f"/assessments/{YEAR}/objections", params={"district_id": str(w.D)})),
    # An objection that does not exist: a district admin learns so (404), the others may not ask.
    Row(E, "POST /objections/{objection_id}/uphold",        ("any", "-",   "-",   "-",   "-", "-"),
        lambda w: req("POST", f"/objections/{uuid.uuid4()}/uphold",
                      json={"reason": "核实", "corrections": {"points": "60"}})),
    Row(E, "POST /objections/{objection_id}/reject",        ("any", "-",   "-",   "-",   "-", "-"),
        lambda w: req("POST", f"/objections/{uuid.uuid4()}/reject", json={"reason": "无误"})),
    Row(E, "GET /objections/{objection_id}/files/{file_id}", ("any", "-",  "-",   "any", "any", "-"),
        lambda w: req("GET", f"/objections/{uuid.uuid4()}/files/{uuid.uuid4()}")),
    Row(E, "POST /assessments/{year}/finalise",             ("own", "-",   "-",   "-",   "-", "-"),
        lambda w: req("POST", f"/assessments/{YEAR}/finalise", json={"district_id": str(w.D)})),
    Row(E, "GET /assessments/{year}/audit",                 ("own", "-",   "-",   "-",   "-", "-"),
        lambda w: req("GET", f"/assessments/{YEAR}/audit", params={"district_id": str(w.D)})),
    Row(E, "GET /public/streets/{street_id}",               PUB,
        lambda w: req("GET", f"/public/streets/{w.S}")),
    Row(E, "GET /public/communities/{community_id}",        PUB,
        lambda w: req("GET", f"/public/communities/{w.C}")),
]
# fmt: on
MATRIX = {A: AGREEMENTS, K: COMMITMENTS, P: POINTS, E: EVALUATION}


def app_routes(app: Any) -> set[str]:
    out = set()
    for ctx in fastapi.routing.iter_route_contexts(app.routes):
        if ctx.path in DOCS:
            continue
        for method in ctx.methods or ():
            if method != "HEAD":
                out.add(f"{method} {ctx.path}")
    return out


def cases(rows: list[Row]) -> list[tuple[Row, Role, bool, bool]]:
    """(row, role, own, allowed) for every role and both parties; public rows excluded."""
    out = []
    for row in rows:
        for role, verdict in zip(ROLES, row.expect, strict=True):
            if verdict == "pub":
                continue
            assert verdict in ("own", "any", "-"), (row.route, verdict)
            out.append((row, role, True, verdict in ("own", "any")))
            out.append((row, role, False, verdict == "any"))
    return out


async def send(suite: Suite, row: Row, w: World, headers: dict[str, str]) -> Any:
    spec = row.request(w)
    return await suite.clients[row.service].request(headers=headers, **spec)


@pytest.mark.parametrize("service", list(MATRIX))
def test_the_matrix_has_a_row_for_every_route(suite: Suite, service: str) -> None:
    rows = {r.route for r in MATRIX[service]}
    routes = app_routes(suite.apps[service])
    assert routes - rows == set(), f"routes of {service} without a row in the matrix"
    assert rows - routes == set(), f"rows of {service} naming no route"


@pytest.mark.parametrize("service", list(MATRIX))
async def test_every_role_and_party_gets_its_expected_answer(suite: Suite, service: str) -> None:
    world = await build_world(suite)  # its own: the allowed commands change the world
    rows = MATRIX[service]
    all_cases = cases(rows)
    wrong: list[str] = []
    before = await suite.outbox_counts()
    for row, role, own, allowed in all_cases:  # refusals first: they must change nothing
        if allowed:
            continue
        r = await send(suite, row, world, suite.h(role, world.party(role, own)))
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code == 403 and body.get("message") and not row.hidden:
            continue
        if row.hidden and r.status_code == 404 and str(body.get("field")).startswith("path."):
            continue
        # A read naming its id in the query (evaluation's ledger and results): a role that may
        # never read it is 403, a party outside the actor's subtree 404 naming the parameter.
        if 404 in row.deny_also and r.status_code == 404 and str(body.get("field")).startswith(
            "query."
        ):
            continue
        if r.status_code in row.deny_also and "may not" in r.text:
            continue
        if r.status_code in row.deny_also and row.deny_also == (409,) and role is Role.MEMBER:
            continue
        wrong.append(f"{row.route} as {role.value} ({'own' if own else 'other'}): "
                     f"wanted 403, got {r.status_code} {r.text[:160]}")  # fmt: skip
    assert await suite.outbox_counts() == before, "a refused request wrote an event"
    for row, role, own, allowed in all_cases:
        if not allowed:
            continue
        r = await send(suite, row, world, suite.h(role, world.party(role, own)))
        refused = (401, 403, 404) if row.hidden else (401, 403)
        if r.status_code in refused or r.status_code >= 500:
            wrong.append(f"{row.route} as {role.value} ({'own' if own else 'other'}): "
                         f"wanted allowed, got {r.status_code} {r.text[:160]}")  # fmt: skip
    for row in rows:
        if row.expect == PUB:
            r = await send(suite, row, world, {})
            if r.status_code in (401, 403) or r.status_code >= 500:
                wrong.append(f"{row.route} without a token: got {r.status_code}")
    assert not wrong, "\n".join(wrong)


# -- tokens ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bad_tokens(suite: Suite, w: World) -> dict[str, str | None]:
    """Tokens a service must refuse, all naming a district admin who is otherwise allowed."""
    import json
    import time

    claims = {"sub": "intruder", "role": "district_admin", "party_id": str(w.D),
              "iss": "cobuild-dev", "aud": "cobuild", "exp": int(time.time()) + 600}  # fmt: skip
    kid = suite.issuer.kid
    other_private, _ = generate_keypair()
    public_of_issuer = suite.issuer.public_key  # the key a confused verifier might use
    from cryptography.hazmat.primitives import serialization

    issuer_public_pem = public_of_issuer.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    none_token = ".".join([_b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode()),
                           _b64(json.dumps(claims).encode()), ""])  # fmt: skip
    good = suite.issuer.token(Role.DISTRICT_ADMIN, w.D)
    head, _, sig = good.split(".")
    forged_claims = {**claims, "sub": "forged"}
    return {
        "missing": None,
        "not a jwt": "Bearer not-a-token",
        "empty bearer": "Bearer ",
        "basic scheme": "Basic " + _b64(b"admin:admin"),
        "expired": "Bearer "
        + issue_token(
            private_key_pem=suite.issuer.private_pem,
            kid=kid,
            subject="late",
            role="district_admin",
            party_id=w.D,
            now=time.time() - 7200,
            ttl_seconds=60,
        ),
        "other key, same kid": "Bearer "
        + issue_token(
            private_key_pem=other_private, kid=kid, subject="x", role="district_admin", party_id=w.D
        ),
        "unknown kid": "Bearer "
        + issue_token(
            private_key_pem=suite.issuer.private_pem,
            kid="nobody",
            subject="x",
            role="district_admin",
            party_id=w.D,
        ),
        "alg none": "Bearer " + none_token,
        "HS256 with the public key": "Bearer " + _hs256(forged_claims, issuer_public_pem, kid),
        "tampered payload": "Bearer "
        + ".".join([head, _b64(json.dumps(forged_claims).encode()), sig]),
        "wrong audience": "Bearer "
        + jwt.encode(
            {**claims, "aud": "elsewhere"},
            _private(suite.issuer.private_pem),
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
        "unknown role": "Bearer "
        + jwt.encode(
            {**claims, "role": "superuser"},
            _private(suite.issuer.private_pem),
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
        "no expiry": "Bearer "
        + jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"},
            _private(suite.issuer.private_pem),
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
    }


def _private(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    import hashlib
    import hmac
    import json

    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


TOKEN_PROBES = {  # a command each service's district admin (or C/U) may otherwise perform
    A: lambda w: req(
        "POST", "/parties", json={"kind": "street", "name": f"X {fresh()}", "parent_id": str(w.D)}
    ),
    K: lambda w: req("GET", "/commitments"),
    P: lambda w: req("GET", "/points/verify", params={"year": YEAR}),
    E: lambda w: req("POST", "/experts", json={"name": "冒名专家"}),
}


@pytest.mark.parametrize("service", list(MATRIX))
async def test_bad_tokens_are_refused_with_401_and_change_nothing(
    suite: Suite, world: World, service: str
) -> None:
    good = await suite.clients[service].request(
        headers=suite.h(Role.DISTRICT_ADMIN, world.D), **TOKEN_PROBES[service](world)
    )
    assert good.status_code < 300, good.text  # the probe works with a good token
    before = await suite.outbox_counts()
    let_in = []
    for name, value in bad_tokens(suite, world).items():
        headers = {} if value is None else {"Authorization": value}
        r = await suite.clients[service].request(headers=headers, **TOKEN_PROBES[service](world))
        if r.status_code != 401 or "message" not in r.json():
            let_in.append(f"{name}: {r.status_code} {r.text[:120]}")
    assert not let_in, "\n".join(let_in)
    assert await suite.outbox_counts() == before
