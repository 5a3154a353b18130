"""The points service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.auth import TokenVerifier
from cobuild_kit.clock import Clock
from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_points import consumers
from cobuild_points.http import activities, members, points, public, wishes
from cobuild_points.settings import PointsSettings

# The rules below are decided and held by tests (tests/points/test_points_rules_documented.py):
# change the code and this text together.
DESCRIPTION = """In-service party members (names and phones stay here), reporting (报到),
volunteer activities, micro-wishes (微心愿) and the hash-chained points ledger.

## Rules

**Which year an entry belongs to.** Every entry has a business date (a local date in
Asia/Shanghai) and belongs to that date's year, whatever day it was recorded:

- *task points* (rule `task`, from `commitment.fulfilled`): the `done_date` of the event,
  the day the work was marked done, not the day the community confirmed it
  (`confirmed_at`). Work done on 30 December and confirmed on 5 January counts for the
  December's year;
- *activity points*: the day the activity starts;
- *micro-wish points*: the day the community confirms the wish;
- *a reversal*: booked in the member-year of the entry it reverses, dated the day of the
  reversal.

**Work confirmed after its year's assessment was published.** The entry is booked as usual,
in the year of its business date: it shows at once in the member's balance and history of
that year, in the community and unit totals, and is published as `points.awarded`, which the
evaluation service adds to the member's points of that year. The published assessment is not
changed: its scores, ranks and this service's honour roll stay as published until the district
re-publishes the year (a new policy version with a reason), which then counts the late entry.

## Personal data and guessing

**The honour roll** (`GET /public/communities/{community_id}/honour-roll`, no token) serves
only the grades the policy honours: setting `honour_roll_grades`
(`COBUILD_POINTS_HONOUR_ROLL_GRADES`, by default `["excellent"]`). Asking for another grade
(`fail`) is a 422 naming `query.grade`. A name shows as surname + `*` unless the member
themself opted in with `PATCH /members/{member_id}/preferences` (their own token). No admin
sets it: `show_full_name` on `POST /members` or an item of `/units/{unit_id}/members/bulk`
is a 422 naming the field (`body.show_full_name`, `body.members.3.show_full_name`), and a
`show_full_name` column with a value in `POST /members/import` is refused on its row.

**Phones already registered.** A phone is unique across the district, so a registration
naming one already registered cannot succeed; the answer tells the registering admin no
more than they may know. On `POST /members`, `/units/{unit_id}/members/bulk` (by item) and
`/members/import` (by row) alike:

- registered to a member the admin looks after (a unit admin: one of their unit; a community
  admin: one living in, serving or asking to serve their community): 409 naming
  `body.phone`, "is already registered to a member of your unit or community";
- registered to anyone else (another unit or community, another district, a member who has
  left): 409 naming `body.phone` with one message, "cannot be registered by you; …", the same
  whatever the member's unit, community or status, and never whose it is;
- each such answer counts against the admin's party (setting `phone_refusals_per_minute`,
  10 a minute); beyond it the whole request is a 429 (Retry-After) naming no phone, so a
  phone book cannot be sifted for members. A registration the admin may not make at all is
  refused (403) before any phone is looked up.

**Check-in codes** are six digits. Every `POST /activities/{activity_id}/check-in`
counts, right code or wrong, per member and activity (setting `check_in_attempts_per_minute`,
10) and per activity over all members (`check_in_activity_attempts_per_minute`, 300); beyond
either, a 429 with Retry-After, for a right code too, until the minute has passed.

**Transfers** (`POST /members/{member_id}/transfer`) go to an active community of the
parties directory; any other id (unknown, a unit, a street) is a 422 naming
`body.to_community_id`.

## Bulk commands

`POST /communities/{community_id}/reports/accept` and `/decline`,
`POST /activities/{activity_id}/attendances/bulk` and `POST /units/{unit_id}/members/bulk`
take up to 1,000 items and apply all of them or none: every item is checked and authorised
first; if any fails, the request is refused with the status of the first failing item and
every failing item named in `fields` (`body.member_ids.3`), and nothing is written or
published. On success each item emits exactly what the single command would.

## Lists

Every list is a page (`limit`, `offset`; `total`, `next_offset`). Reading what lies outside
one's own community or unit answers 404, as for what does not exist."""


def definition(
    settings: PointsSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
) -> ServiceDefinition[PointsSettings]:
    return ServiceDefinition(
        name="points",
        settings=settings or PointsSettings(),
        migrations_package="cobuild_points",
        routers=[members.router, activities.router, wishes.router, points.router, public.router],
        consumers=[consumers.commitments, consumers.evaluation, consumers.agreements],
        workers=[],
        description=DESCRIPTION,
        body_limits={"/members/import": 10_000_000},
        verifier=verifier,
        clock=clock,
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
