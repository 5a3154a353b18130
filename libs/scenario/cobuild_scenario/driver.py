"""The main job's driver: play the planned year through the services' public HTTP APIs.

`cobuild run` loads `run` from the `cobuild.drivers` entry point. Before the stack starts,
`run.prepare_stack` gives the services a file clock (business time) and a fresh state; then
`run(ctx)` plays set-up, talk, signing, the year tick by tick, evaluations and the assessment,
and writes the report from what the services answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cobuild_kit.clock import write_clock_file
from cobuild_stack.errors import StackError
from cobuild_stack.launcher import StackConfig
from cobuild_stack.procs import pid_alive
from cobuild_stack.run import RunContext, RunOptions
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from cobuild_scenario import files, report, runs
from cobuild_scenario.actors import Actor, Api, Tokens, resident_post
from cobuild_scenario.member_signin import MemberSignIn
from cobuild_scenario.pace import BusinessClock, Quiescence, clock_path
from cobuild_scenario.plan import (
    ACTIVITY_END,
    ACTIVITY_HOURS,
    ACTIVITY_START,
    LOCAL,
    MID_YEAR,
    START,
    YEAR,
    YEAR_END,
    Activity,
    Agreement,
    Alliance,
    Item,
    Meeting,
    Plan,
    Wish,
    make_plan,
)
from cobuild_scenario.signin import StaffSignIn, provider_of
from cobuild_scenario.whistles import plan_whistles
from cobuild_scenario.whistling import Whistling

T = TypeVar("T")
TERM_END = date(YEAR, 12, 31)
BULK_MAX = 1000  # items per bulk command (the services' bound)


@dataclass
class World:
    """The ids the services minted, by plan key."""

    district_id: str
    parties: dict[str, str] = field(default_factory=dict)  # code → party id
    members: dict[int, str] = field(default_factory=dict)
    needs: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, str] = field(default_factory=dict)
    commitments: dict[str, str] = field(default_factory=dict)  # item key → commitment id
    wishes: dict[str, str] = field(default_factory=dict)
    experts: dict[int, str] = field(default_factory=dict)
    alliances: dict[str, str] = field(default_factory=dict)
    meetings: dict[str, str] = field(default_factory=dict)


@dataclass
class Played:
    plan: Plan
    world: World
    figures: dict[str, Any]
    out_dir: Path
    seconds: float
    requests: int
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase, in order
    signin: StaffSignIn | None = None  # the staff's accounts, when the stack had a provider
    member_signin: MemberSignIn | None = None  # one community's members' accounts


class PhaseTimes:
    """Wall-clock seconds of each phase of the job, printed at the end and kept for the next
    run's estimate (runs.record_timings)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    async def time(self, phase: str, work: Awaitable[T]) -> T:
        started = time.monotonic()
        try:
            return await work
        finally:
            self.seconds[phase] = time.monotonic() - started


class Year:
    """One district's year, acted out."""

    def __init__(
        self,
        plan: Plan,
        api: Api,
        clock: BusinessClock,
        progress: Progress,
        say: Callable[[str], None],
    ) -> None:
        self.plan = plan
        self.api = api
        self.clock = clock
        self.progress = progress
        self.say = say
        self.world = World(district_id=str(uuid.uuid4()))
        operator = api.tokens.token("operator", self.world.district_id)
        self.quiet = Quiescence(api, operator, listeners=False)
        self.everyone = Quiescence(api, operator)  # the listeners too: once, at the end
        # With a provider in the stack the staff sign in and act with exchanged tokens.
        self.signin: StaffSignIn | None = None
        self.member_signin: MemberSignIn | None = None  # one community's members, for real
        self.units = {u.code: u for u in plan.units}
        self.agreement_of = {i.key: a for a in plan.agreements for i in a.items}
        self.plan_agreements = {a.key: a for a in plan.agreements}
        kinds = {s.code: "street" for s in plan.streets}
        kinds.update({c.code: "community" for c in plan.communities})
        kinds.update({u.code: "unit" for u in plan.units})
        # The year's whistles (吹哨报到), acted out at the ticks with the rest.
        self.whistling = Whistling(
            api, self.world.district_id, self.world.parties, kinds, plan_whistles(plan)
        )

    # -- actors ------------------------------------------------------------------------------

    def district(self) -> Actor:
        return self.api.actor("district_admin", self.world.district_id)

    def street(self, code: str) -> Actor:
        return self.api.actor("street_admin", self.world.parties[code])

    def community(self, code: str) -> Actor:
        return self.api.actor("community_admin", self.world.parties[code])

    def unit(self, code: str) -> Actor:
        return self.api.actor("unit_admin", self.world.parties[code])

    def member(self, index: int) -> Actor:
        return self.api.actor("member", self.world.members[index])

    def expert(self, n: int) -> Actor:
        return self.api.actor("expert", self.world.experts[n])

    # -- helpers -----------------------------------------------------------------------------

    async def each(
        self, label: str, work: Iterable[Awaitable[Any]], *, total: int | None = None
    ) -> list[Any]:
        """Run independent steps concurrently (the Api bounds requests in flight)."""
        jobs = list(work)
        task = self.progress.add_task(label, total=total or len(jobs))

        async def one(job: Awaitable[Any]) -> Any:
            result = await job
            self.progress.advance(task)
            return result

        try:
            return list(await asyncio.gather(*(one(j) for j in jobs)))
        finally:
            self.progress.update(task, completed=total or len(jobs))

    # -- set-up ------------------------------------------------------------------------------

    async def set_up(self) -> None:
        plan, world = self.plan, self.world
        await self.district().post(
            "agreements",
            "/parties",
            {"party_id": world.district_id, "kind": "district", "name": "示范区", "code": "D1"},
        )
        world.parties["D1"] = world.district_id
        rows: list[list[str]] = [["street", s.name, s.code, "D1", "", ""] for s in plan.streets]
        rows += [["community", c.name, c.code, c.street, "", ""] for c in plan.communities]
        rows += [
            ["unit", u.name, u.code, "D1", u.unit_type, ";".join(u.paired)] for u in plan.units
        ]
        sheet = files.csv_bytes(
            ("kind", "name", "code", "parent", "unit_type", "paired_communities"), rows
        )
        with self._step("directory: parties and pairings", 1):
            answer = await self.district().api.request(
                "agreements",
                "POST",
                "/parties/import",
                token=self.district().token,
                files={"file": ("parties.csv", sheet, "text/csv")},
            )
        for party in answer.json()["parties"]:
            world.parties[party["code"]] = str(party["party_id"])
        await self.quiet.wait()  # the others learn the directory from party.* events
        if self.signin is not None:
            with self._step("staff: accounts, grants and sign-in", 1):
                await self.signin.seed()
        await self.each(
            "members: registered", (self._import_members(c.code) for c in plan.communities)
        )
        if self.member_signin is not None:
            with self._step("members: one community's accounts and sign-ins", 1):
                await self.member_signin.accounts()
        await self.each("members: report", (self._report(m.index) for m in plan.members))
        await self.each(
            "members: reports accepted", (self._accept_reports(c.code) for c in plan.communities)
        )
        if self.member_signin is not None:
            with self._step("members: their grants' tokens", 1):
                await self.member_signin.take_grants(self.say)
        await self.each(
            "experts: directory",
            (self._add_expert(n, name) for n, name in enumerate(plan.experts)),
        )

    @contextlib.contextmanager
    def _step(self, label: str, total: int) -> Any:
        task = self.progress.add_task(label, total=total)
        yield
        self.progress.update(task, completed=total)

    async def _import_members(self, code: str) -> None:
        residents = [m for m in self.plan.members if m.community == code]
        if not residents:
            return
        sheet = files.csv_bytes(
            ("name", "phone", "unit_id", "community_id"),
            (
                (m.name, m.phone, self.world.parties[m.unit], self.world.parties[m.community])
                for m in residents
            ),
        )
        admin = self.community(code)
        answer = await admin.api.request(
            "points",
            "POST",
            "/members/import",
            token=admin.token,
            files={"file": (f"members-{code}.csv", sheet, "text/csv")},
        )
        for m, member_id in zip(residents, answer.json()["member_ids"], strict=True):
            self.world.members[m.index] = member_id

    async def _report(self, index: int) -> None:
        member_id = self.world.members[index]
        if self.member_signin is not None and self.member_signin.signs_in(index):
            unit_id = self.world.parties[self.plan.members[index].unit]
            await self.member_signin.report(index, unit_id)
            return
        await self.member(index).post("points", f"/members/{member_id}/report", {})

    async def _accept_reports(self, code: str) -> None:
        """A community worker accepts the reports waiting for her in one go (the bulk command:
        all or none), as the workbench does; at most 1,000 a request."""
        waiting = [self.world.members[m.index] for m in self.plan.members if m.community == code]
        community_id = self.world.parties[code]
        for start in range(0, len(waiting), BULK_MAX):
            await self.community(code).post(
                "points",
                f"/communities/{community_id}/reports/accept",
                {"member_ids": waiting[start : start + BULK_MAX]},
            )

    async def _add_expert(self, n: int, name: str) -> None:
        expert_id = str(uuid.uuid4())
        await self.district().post(
            "evaluation", "/experts", {"expert_id": expert_id, "name": name, "field": "社区治理"}
        )
        self.world.experts[n] = expert_id

    # -- talk and sign -------------------------------------------------------------------------

    async def talk_and_sign(self) -> None:
        plan = self.plan
        start = START.date().isoformat()
        await self.each(
            "talk: resource lists",
            (
                self.unit(r.unit).post(
                    "agreements",
                    "/resources",
                    {
                        "unit_id": self.world.parties[r.unit],
                        "category": r.category,
                        "kind": r.kind,
                        "title": r.title,
                        "capacity": r.capacity,
                        "capacity_unit": r.capacity_unit,
                        "available_from": start,
                        "available_until": TERM_END.isoformat(),
                    },
                )
                for r in plan.resources
            ),
        )
        await self.each("talk: needs lists", (self._import_needs(c.code) for c in plan.communities))
        negotiated = [a for a in plan.agreements if a.origin == "negotiated"]
        claims = [a for a in plan.agreements if a.origin == "claim"]
        await self.each(
            "talk: proposals, counters, signatures", (self._negotiate(a) for a in negotiated)
        )
        await self.each("sign: direct claims of needs", (self._claim(a) for a in claims))
        await self.each("alliances: formed", (self._form(al) for al in plan.alliances))
        # The year's joint meetings sign their decisions later, at their own ticks.
        await self._until_opened(
            sum(len(a.items) for a in plan.agreements if a.signed_tick is None)
        )

    async def _import_needs(self, code: str) -> None:
        needs = [n for n in self.plan.needs if n.community == code]
        sheet = files.csv_bytes(
            ("category", "kind", "title", "quantity", "quantity_unit", "funds_fen", "wanted_by"),
            (
                (n.category, n.kind, n.title, n.quantity, n.quantity_unit, n.funds_fen, n.wanted_by)
                for n in needs
            ),
        )
        admin = self.community(code)
        answer = await admin.api.request(
            "agreements",
            "POST",
            f"/communities/{self.world.parties[code]}/needs/import",
            token=admin.token,
            files={"file": (f"needs-{code}.csv", sheet, "text/csv")},
        )
        for need, need_id in zip(needs, answer.json()["need_ids"], strict=True):
            self.world.needs[need.key] = str(need_id)

    def _draft(self, a: Agreement, item: Item, quantity: int | None = None) -> dict[str, Any]:
        community, unit = self.world.parties[a.community], self.world.parties[a.unit]
        obligor, beneficiary = (unit, community) if item.obligor == "unit" else (community, unit)
        return {
            "title": item.title,
            "kind": item.kind,
            "category": item.category,
            "obligor_party_id": obligor,
            "beneficiary_party_id": beneficiary,
            "responsible_title": "党支部书记" if item.obligor == "unit" else "社区书记",
            "deadline": item.deadline.isoformat(),
            "funds_fen": item.funds_fen,
            "quantity": quantity or item.quantity,
            "quantity_unit": item.quantity_unit,
            "need_id": self.world.needs.get(item.need) if item.need else None,
        }

    async def _negotiate(self, a: Agreement) -> None:
        community, unit = self.community(a.community), self.unit(a.unit)
        proposer, other = (unit, community) if a.proposer == "unit" else (community, unit)
        terms = {"term_start": START.date().isoformat(), "term_end": TERM_END.isoformat()}
        first = [self._draft(a, i) for i in a.items]
        if a.countered:  # the first draft asks one more of the first item; the other side trims
            first[0] = self._draft(a, a.items[0], a.items[0].quantity + 1)
        view = await proposer.post(
            "agreements",
            "/agreements",
            {
                "community_id": self.world.parties[a.community],
                "unit_id": self.world.parties[a.unit],
                **terms,
                "items": first,
            },
        )
        agreement_id = view["agreement_id"]
        version = 1
        if a.countered:
            view = await other.post(
                "agreements",
                f"/agreements/{agreement_id}/counters",
                {**terms, "counters_version": 1, "items": [self._draft(a, i) for i in a.items]},
            )
            version = 2
        await proposer.post(
            "agreements", f"/agreements/{agreement_id}/signatures", {"version": version}
        )
        signed = await other.post(
            "agreements", f"/agreements/{agreement_id}/signatures", {"version": version}
        )
        self._remember(a, agreement_id, signed["agreement"]["commitments"])

    async def _claim(self, a: Agreement) -> None:
        item = a.items[0]
        assert item.need is not None
        view = await self.unit(a.unit).post(
            "agreements",
            f"/needs/{self.world.needs[item.need]}/claims",
            {
                "unit_id": self.world.parties[a.unit],
                "responsible_title": "党支部书记",
                "deadline": item.deadline.isoformat(),
            },
        )
        self._remember(a, view["agreement_id"], view["commitments"])

    def _remember(self, a: Agreement, agreement_id: str, commitments: list[dict[str, Any]]) -> None:
        self.world.agreements[a.key] = str(agreement_id)
        by_title = {c["title"]: str(c["commitment_id"]) for c in commitments}
        for item in a.items:
            self.world.commitments[item.key] = by_title[item.title]

    # -- alliances and their joint meetings ---------------------------------------------------

    async def _form(self, al: Alliance) -> None:
        """The street's secretary forms its alliance; the units chair in the listed order."""
        answer = await self.street(al.street).post(
            "agreements",
            "/alliances",
            {
                "host_party_id": self.world.parties[al.street],
                "name": al.name,
                "member_unit_ids": [self.world.parties[u] for u in al.units],
            },
        )
        self.world.alliances[al.key] = str(answer["alliance_id"])

    async def _alliance_tick(self, al: Alliance, n: int) -> None:
        """The alliance's business at tick n: a unit leaving, then the meetings held since the
        last tick, in order (a six-weekly tick records two months' meetings)."""
        alliance_id = self.world.alliances[al.key]
        if al.leave_tick == n and al.leaver is not None and al.leaves_on is not None:
            await self.street(al.street).post(
                "agreements",
                f"/alliances/{alliance_id}/members/{self.world.parties[al.leaver]}/departure",
                {"left_on": al.leaves_on.isoformat()},
            )
        for m in sorted(
            (m for m in self.plan.meetings if m.alliance == al.key and m.tick == n),
            key=lambda m: m.number,
        ):
            await self._meeting(al, m)

    async def _meeting(self, al: Alliance, m: Meeting) -> None:
        decisions = [self.plan_agreements[k] for k in m.decisions]
        body = {
            "held_on": m.held_on.isoformat(),
            "title": f"{al.name}第{m.number}次联席会议",
            "place": "街道党群服务中心",
            # The plan's own reckoning of whose turn it is: the service refuses (409) if its
            # rotation says otherwise.
            "chair_unit_id": self.world.parties[m.chair],
            "agenda": ["通报上次会议研究确定事项落实情况", "研究本月共建事项"],
            "present_unit_ids": [self.world.parties[u] for u in m.present],
            "minutes": f"会议由轮值单位主持，研究确定事项{len(decisions)}项。",
            "decisions": [
                {
                    "title": a.items[0].title,
                    "category": a.items[0].category,
                    "kind": a.items[0].kind,
                    "responsible_unit_id": self.world.parties[a.unit],
                    "beneficiary_community_id": self.world.parties[a.community],
                    "deadline": a.items[0].deadline.isoformat(),
                    "funds_fen": a.items[0].funds_fen,
                    "quantity": a.items[0].quantity,
                    "quantity_unit": a.items[0].quantity_unit,
                }
                for a in decisions
            ],
        }
        alliance_id = self.world.alliances[al.key]
        held = await self.street(al.street).post(
            "agreements", f"/alliances/{alliance_id}/meetings", body
        )
        self.world.meetings[m.key] = str(held["meeting_id"])
        for a, d in zip(decisions, held["decisions"], strict=True):
            self.world.agreements[a.key] = str(d["agreement_id"])
            self.world.commitments[a.items[0].key] = str(d["commitment_id"])

    async def _until_opened(self, expected: int) -> None:
        """The commitments service opens them from agreement.signed: wait until all are there."""
        for _ in range(600):
            await self.quiet.wait()
            page = await self.district().get("commitments", "/commitments", limit=1)
            if page["total"] >= expected:
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"commitments opened: {page['total']} of {expected}")

    # -- the year --------------------------------------------------------------------------------

    async def the_year(self) -> None:
        plan = self.plan
        items = plan.items()
        task = self.progress.add_task("year: weeks", total=len(plan.ticks))
        done_mid_year = False
        await self.whistling.set_up()
        for n, day in enumerate(plan.ticks):
            if not done_mid_year and day > MID_YEAR:
                await self._mid_year()
                done_mid_year = True
            await self.clock.move_to(plan.tick_at(n), self.quiet)
            # Meetings first: their decisions' commitments are worked on from the next tick.
            await asyncio.gather(*(self._alliance_tick(al, n) for al in plan.alliances))
            steps = [self._item_steps(i, n) for i in items if _acts_at(i, n)]
            steps += [self._activity(a) for a in plan.activities if a.tick == n]
            steps += [
                self._wish_steps(w, n) for w in plan.wishes if n in (w.publish_tick, w.confirm_tick)
            ]
            steps.append(self.whistling.at(n))
            await asyncio.gather(*steps)
            self.progress.update(
                task,
                advance=1,
                description=f"year: week of {day.isoformat()} ({self.api.requests} requests)",
            )
        await self.quiet.wait()

    async def _mid_year(self) -> None:
        await self.quiet.wait()
        view = await self.district().get(
            "evaluation",
            "/ledger",
            scope="district",
            id=self.world.district_id,
            as_of=MID_YEAR.isoformat(),
        )
        f = view["figures"]
        self.say(
            f"mid-year ({MID_YEAR}): {f['fulfilled']} of {f['signed']} commitments fulfilled, "
            f"rate {f['fulfilment_rate']} by count, {f['fulfilment_rate_fen']} by value"
        )

    async def _item_steps(self, item: Item, n: int) -> None:
        a = self.agreement_of[item.key]
        obligor = self.unit(a.unit) if item.obligor == "unit" else self.community(a.community)
        beneficiary = self.community(a.community) if item.obligor == "unit" else self.unit(a.unit)
        path = f"/commitments/{self.world.commitments[item.key]}"
        if n == item.claim_tick:
            await obligor.post("commitments", f"{path}/claim")
            assigned = [m for m, _ in item.participants if self.plan.members[m].unit == a.unit][:5]
            if assigned:
                ids = [self.world.members[m] for m in assigned]
                await obligor.put("commitments", f"{path}/assignees", {"member_ids": ids})
        if n == item.progress_tick:
            body: dict[str, Any] = {"percent": 50, "note": "按计划推进"}
            if item.funds_fen:
                body.update(paid_fen=item.paid_fen, payment_ref=f"PAY-{item.key}")
            await obligor.post("commitments", f"{path}/progress", body)
        for k, tick in enumerate(item.done_ticks):
            if tick != n:
                continue
            final = k == len(item.done_ticks) - 1
            if final and item.evidence:
                name, content, kind = (
                    (f"{item.key}.pdf", files.pdf(f"receipt {item.key}"), "application/pdf")
                    if item.funds_fen
                    else (f"{item.key}.png", files.png(zlib.crc32(item.key.encode())), "image/png")
                )
                await obligor.upload("commitments", f"{path}/evidence", name, content, kind)
            done: dict[str, Any] = {
                "participants": [
                    {"member_id": self.world.members[m], "hours": str(h)}
                    for m, h in item.participants
                ]
            }
            if item.actual_quantity is not None:
                done["actual_quantity"] = item.actual_quantity
            await obligor.post("commitments", f"{path}/done", done)
            if not final:
                await beneficiary.post(
                    "commitments", f"{path}/refuse", {"reason": "现场核验未达标，请整改"}
                )
        if n == item.confirm_tick:
            await beneficiary.post("commitments", f"{path}/confirm", {})

    async def _activity(self, act: Activity) -> None:
        admin = self.community(act.community)
        day = self.plan.ticks[act.tick]
        starts = datetime.combine(day, ACTIVITY_START, tzinfo=LOCAL)
        ends = datetime.combine(day, ACTIVITY_END, tzinfo=LOCAL)
        row = await admin.post(
            "points",
            "/activities",
            {
                "community_id": self.world.parties[act.community],
                "title": act.title,
                "category": act.category,
                "starts_at": starts.isoformat(),
                "ends_at": ends.isoformat(),
                "place": "社区党群服务中心",
                "capacity": act.capacity,
            },
        )
        activity_id, code = row["activity_id"], row["check_in_code"]
        await asyncio.gather(
            *(
                self.member(m).post("points", f"/activities/{activity_id}/sign-ups")
                for m in act.sign_ups
            )
        )
        await asyncio.gather(
            *(
                self.member(m).post("points", f"/activities/{activity_id}/check-in", {"code": code})
                for m in act.attendees
            )
        )
        if act.attendees:  # the community confirms the attendance in one go
            await admin.post(
                "points",
                f"/activities/{activity_id}/attendances/bulk",
                {
                    "attendance": [
                        {"member_id": self.world.members[m], "hours": str(ACTIVITY_HOURS)}
                        for m in act.attendees
                    ]
                },
            )

    async def _wish_steps(self, wish: Wish, n: int) -> None:
        admin = self.community(wish.community)
        if n == wish.publish_tick:
            row = await admin.post(
                "points",
                "/wishes",
                {"community_id": self.world.parties[wish.community], "title": wish.title},
            )
            self.world.wishes[wish.key] = str(row["wish_id"])
            if wish.member is not None:
                await self.member(wish.member).post("points", f"/wishes/{row['wish_id']}/claim")
        if n == wish.confirm_tick and wish.member is not None:
            wish_id = self.world.wishes[wish.key]
            await self.member(wish.member).post("points", f"/wishes/{wish_id}/done")
            await admin.post("points", f"/wishes/{wish_id}/confirm")

    # -- evaluations and the assessment -------------------------------------------------------

    async def evaluate(self) -> None:
        await self.clock.move_to(YEAR_END, self.quiet)
        plan = self.plan
        items = {i.key: i for i in plan.items()}
        await self.each(
            "evaluate: residents (one-time codes)",
            (
                self._residents(n, items[r.item], r.ratings)
                for n, r in enumerate(plan.resident_reviews)
            ),
        )
        await self.each(
            "evaluate: experts",
            (self._expert(r.expert, r.item, dict(r.criteria)) for r in plan.expert_reviews),
        )
        rated = [m for m in plan.members if m.rating is not None]
        await self.each(
            "evaluate: communities rate members",
            (
                self.community(m.community).post(
                    "evaluation",
                    "/member-ratings",
                    {
                        "member_id": self.world.members[m.index],
                        "year": YEAR,
                        "score": str(m.rating),
                    },
                )
                for m in rated
            ),
        )

    async def _residents(self, n: int, item: Item, ratings: tuple[int, ...]) -> None:
        a = self.agreement_of[item.key]
        beneficiary = self.community(a.community) if item.obligor == "unit" else self.unit(a.unit)
        cid = self.world.commitments[item.key]
        issued = await beneficiary.post(
            "evaluation", f"/commitments/{cid}/resident-codes", {"count": len(ratings)}
        )
        for k, (code, rating) in enumerate(zip(issued["codes"], ratings, strict=True)):
            address = f"10.{(n >> 8) & 255}.{n & 255}.{k + 1}"
            await resident_post(
                self.api, "/public/resident-evaluations", {"code": code, "rating": rating}, address
            )

    async def _expert(self, expert: int, item_key: str, criteria: dict[str, int]) -> None:
        cid = self.world.commitments[item_key]
        await self.district().post(
            "evaluation",
            "/expert-assignments",
            {
                "expert_id": self.world.experts[expert],
                "subject_kind": "commitment",
                "subject_id": cid,
                "criteria": sorted(criteria),
            },
        )
        await self.expert(expert).post(
            "evaluation",
            "/expert-evaluations",
            {"subject_kind": "commitment", "subject_id": cid, "criteria": criteria},
        )

    async def assess(self) -> dict[str, Any]:
        """The year-end assessment under the default policy, as a district office runs it
        (issue 35): preview, publish for 公示 once the inputs have caught up, one member's
        objection (rejected), the business clock past the objection deadline, finalise. The
        objection is rejected, so the year's figures are the publication's."""
        district = self.district()
        body = {"district_id": self.world.district_id, "policy_version": "2026-v1"}
        with self._step("assess: preview, 公示, an objection, final (policy 2026-v1)", 4):
            preview = await district.post("evaluation", f"/assessments/{YEAR}/preview", body)
            for _ in range(60):
                await self.quiet.wait()
                try:
                    published: dict[str, Any] = await district.post(
                        "evaluation", f"/assessments/{YEAR}/publish", body
                    )
                    break
                except Exception as exc:  # a lag refusal (409): catch up and try again
                    if "not caught up" not in str(exc):
                        raise
                    await asyncio.sleep(0.5)
            else:
                raise TimeoutError("the assessment stayed refused for lag")
            if published["digest"] != preview["digest"]:
                raise RuntimeError("the publication differs from its preview")
            await self._one_objection_rejected()
            await self._finalise_after_the_deadline()
        await self.quiet.wait()
        return published

    async def _one_objection_rejected(self) -> None:
        """The plan's first member objects to their score; the district rejects it."""
        member = self.member(self.plan.members[0].index)
        response = await self.api.request(
            "evaluation",
            "POST",
            f"/assessments/{YEAR}/objections",
            token=member.token,
            data={"reason": "我的志愿服务积分似乎少算了一次"},
        )
        filed = response.json()
        await self.district().post(
            "evaluation",
            f"/objections/{filed['objection_id']}/reject",
            {"reason": "经核对签到记录，积分无误"},
        )

    async def _finalise_after_the_deadline(self) -> None:
        """Business time moves past the objection deadline (working days into the next
        year), then the district finalises."""
        district = self.district()
        head = await district.get(
            "evaluation", f"/assessments/{YEAR}", district_id=self.world.district_id, limit=1
        )
        deadline = datetime.fromisoformat(head["objection_deadline"])
        await self.clock.move_to(deadline + timedelta(minutes=1), self.quiet)
        await district.post(
            "evaluation",
            f"/assessments/{YEAR}/finalise",
            {"district_id": self.world.district_id},
        )


def _acts_at(item: Item, n: int) -> bool:
    return n in (item.claim_tick, item.progress_tick, item.confirm_tick) or n in item.done_ticks


# --- entry points --------------------------------------------------------------------------


class RateColumn(ProgressColumn):
    """Steps per second of a phase (each step is one or a few requests)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:6.1f}/s" if speed else "", style="progress.data.speed")


def make_progress(console: Console | None = None, *, enabled: bool = True) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


async def play(
    info: Any,
    *,
    seed: int,
    scale: str,
    var_dir: Path,
    say: Callable[[str], None],
    console: Console | None = None,
    show_progress: bool = True,
) -> Played:
    """The whole job on a running stack: plan, play, assess, report."""
    started = time.monotonic()
    plan = make_plan(seed, scale)
    s = plan.summary()
    say(
        f"scenario seed {seed}, scale {scale}: {s['streets']} streets, {s['communities']} "
        f"communities, {s['units']} units, {s['members']} members; {s['agreements']} agreements "
        f"with {s['tasks']} tasks, {s['service_projects']} service projects and "
        f"¥{s['funds_fen'] / 100:,.0f} of funds; {s['meetings']} joint meetings deciding "
        f"{s['decisions']} more"
    )
    urls = {name: svc["url"] for name, svc in info["services"].items()}
    api = Api(urls, Tokens(info["keys"]))
    clock = BusinessClock(clock_path(info["clock"]))
    progress = make_progress(console, enabled=show_progress)
    phases = PhaseTimes()
    signin: StaffSignIn | None = None
    member_signin: MemberSignIn | None = None
    try:
        with progress:
            year = Year(plan, api, clock, progress, say)
            if (provider := provider_of(info)) is not None:
                year.signin = signin = StaffSignIn(api, provider, plan, year.world.parties, say)
                year.member_signin = member_signin = MemberSignIn(signin, plan, year.world.members)
            await clock.move_to(START, year.quiet)
            await phases.time("set-up", year.set_up())
            await phases.time("talk and sign", year.talk_and_sign())
            await phases.time("the year", year.the_year())
            await phases.time("evaluations", year.evaluate())
            published = await phases.time("assessment", year.assess())
            # The notifications of the year delivered to inboxes and the mail catcher.
            await phases.time("listeners", year.everyone.wait())
        say(
            f"assessment published: {published['member_count']} members, "
            f"excellent rate {published['member_excellent_rate']}"
        )
        out_dir = var_dir / "report" / str(seed)
        figures = await phases.time(
            "report",
            report.build(
                api, info, district_id=year.world.district_id, out_dir=out_dir, console=console
            ),
        )
    finally:
        if member_signin is not None:
            await member_signin.aclose()
        if signin is not None:
            await signin.aclose()
        await api.aclose()
    if signin is not None:
        members = member_signin.account_rows() if member_signin is not None else []
        signin.write(var_dir, info.get("console", {}).get("url"), members)
    runs.record_timings(var_dir, scale, phases.seconds, api.requests)
    return Played(
        plan,
        year.world,
        figures,
        out_dir,
        time.monotonic() - started,
        api.requests,
        phases.seconds,
        signin,
        member_signin,
    )


class MainJob:
    """The driver object `cobuild run` loads: `prepare_stack` before start, then `__call__`."""

    def prepare_stack(
        self,
        config: StackConfig,
        *,
        say: Callable[[str], None] | None = None,
        options: RunOptions | None = None,
    ) -> StackConfig:
        """A file clock at the year's start, and a fresh state: the year is played from zero,
        so an earlier run's databases and evidence files in this var dir move to
        var/last-run/ (runs.keep_earlier_run). With `say`, first say what the run costs."""
        say = say or (lambda _text: None)
        var_dir = config.var_dir.resolve()
        stack_json = var_dir / "stack.json"
        if stack_json.exists():
            with contextlib.suppress(ValueError, KeyError, OSError):
                pid = json.loads(stack_json.read_text())["launcher"]["pid"]
                if pid != os.getpid() and pid_alive(pid):
                    raise StackError(f"a stack is already running on {var_dir} (pid {pid})")
        if options is not None:
            runs.announce(var_dir, options.scale, say)
        runs.keep_earlier_run(var_dir, say)
        var_dir.mkdir(parents=True, exist_ok=True)
        path = var_dir / "clock"
        write_clock_file(path, START)
        # The simulated residents redeem their codes from addresses of their own
        # (X-Forwarded-For, actors.resident_post), which the evaluation service believes from
        # loopback only when told to: it flags a redemption from the address that issued the
        # code as the issuing party's own, and leaves it out of the means.
        env = {
            "COBUILD_EVALUATION_TRUSTED_PROXIES": "127.0.0.1",
            "COBUILD_ESCALATIONS_TRUSTED_PROXIES": "127.0.0.1",
            **config.extra_env,
        }
        # The staff sign in with the password grant of a client of the main job's own
        # (cobuild_scenario.signin): the provider's pages cost eight requests a person.
        provider = replace(config.provider, driver_client=True)
        return replace(config, clock=f"file:{path}", extra_env=env, provider=provider)

    async def __call__(self, ctx: RunContext) -> None:
        # Piped into a log, rich would wrap the tables at 80 columns and cut the names.
        console = Console() if sys.stdout.isatty() else Console(width=120)
        played = await play(
            ctx.info,
            seed=ctx.options.seed,
            scale=ctx.options.scale,
            var_dir=ctx.var_dir,
            say=ctx.say,
            console=console,
        )
        report.print_summary(played.figures, console)
        ctx.say(
            f"report: {played.out_dir / 'report.html'} (with report.json and the CSV/XLSX exports); "
            f"the year took {played.seconds:.0f}s and {played.requests} requests"
        )
        ctx.say(
            "phases: "
            + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in played.phases.items())
        )
        street = played.figures.get("board_street_id")
        if ctx.options.serve and street:
            # Residents read the console's board (上墙公示); without a console, the
            # evaluation service's own page.
            console_url = ctx.info.get("console", {}).get("url")
            board = (
                f"{console_url}/board/streets/{street}"
                if console_url
                else f"{ctx.info['services']['evaluation']['url']}/public/streets/{street}"
            )
            ctx.say(f"public board: {board}")
        if played.signin is not None:
            for line in sign_in_lines(played.signin, played.member_signin, ctx.info, ctx.var_dir):
                ctx.say(line)


ROLE_TITLES = {
    "district_admin": "区委组织部（区管理员）",
    "street_admin": "街道党工委书记（街道管理员）",
    "community_admin": "社区工作者",
    "unit_admin": "共建单位管理员",
    "member": "在职党员（手机页面）",
}


def sign_in_lines(
    signin: StaffSignIn, members: MemberSignIn | None, info: Any, var_dir: Path
) -> list[str]:
    """Where and as whom to sign in, one line per role (every account: var/accounts.json)."""
    console_url = info.get("console", {}).get("url")
    lines = [
        f"sign in at the workbench {console_url}" if console_url else "sign in at the provider",
        f"  (provider {info['provider']['issuer']}); every account's password this run: "
        f"{signin.password}",
    ]
    for role, person in signin.examples().items():
        lines.append(f"  {ROLE_TITLES.get(role, role)}: {person.user_name} ({person.display_name})")
    member = members.example() if members is not None else None
    if member is not None:
        lines.append(f"  {ROLE_TITLES['member']}: {member.user_name} ({member.community})")
    lines.append(f"  every account: {var_dir / 'accounts.json'}")
    return lines


run = MainJob()
