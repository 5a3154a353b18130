"""The escalations service (吹哨报到): its HTTP routers, consumers and workers, wired by the
runtime kit."""

from __future__ import annotations

from cobuild_kit.auth import TokenVerifier
from cobuild_kit.clock import Clock
from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_escalations import consumers, workers
from cobuild_escalations.http import public_routers, routers
from cobuild_escalations.settings import EscalationsSettings

DESCRIPTION = """\
Whistles (吹哨报到): a community worker (for her community, or a grid/compound in it) or a
street admin raises a matter it cannot solve alone; it is routed to a department (a unit of
type government office) or to the level above, which must respond (报到: accept it and name
who comes) and resolve it within limits counted in working time; the raiser confirms or
reopens; residents who follow it rate their satisfaction once with one-time codes.

**Routing** comes from the district's routing table (`/districts/{id}/routing`), data its
admins edit, each edit a new version; a whistle keeps the version it was routed by, so a
change applies to new matters only. Without a table, a whistle goes to the level above (a
community's to its street, a street's to its district) with the default limits.

**Working time.** Limits to respond and to resolve are set per category and urgency in working
hours ('4h') or working days ('3d'), counted from the raising on the working calendar
(`/working-calendar`): Monday to Friday, less China's official public holidays, plus the
adjusted working days (调休) on weekends, between the working day's opening and closing hours
(09:00–17:00 Asia/Shanghai by default). "N working days" ends at the close of the N-th working
day after the day of raising. The calendar is seeded from a maintained holiday package and
extended by an admin when the next year's official calendar is published; beyond the known
years it counts Monday to Friday, and such a limit is marked provisional
(`respond_by_provisional`, `resolve_by_provisional`).

**Escalation.** A limit that passes unmet flags the whistle once (`response_missed`,
`resolution_missed`; event `whistle.escalated`) and raises its `level` one step: community →
street → district, past the receiver's own level (a street that missed its own limit goes to
its district), staying at the district. It is a flag, not a state: the matter can still be
answered and resolved, late. A whistle reopened past its limit to resolve is flagged then.

**Hand-on.** Before anyone responded, the receiver (or the street or district above the place)
may hand the matter on to another department with a reason; the history keeps every receiver
and reason, and the limits do not restart.

**Refusals.** A whistle the caller may not read answers 404, exactly as one that does not
exist; a command the caller may not give, 403 with the reason; one the state forbids, 409
naming the state.
"""

# Multipart overhead on top of the file itself; a file over the limit still gets a 422.
_MULTIPART_SLACK = 1024 * 1024


def definition(
    settings: EscalationsSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
) -> ServiceDefinition[EscalationsSettings]:
    s = settings or EscalationsSettings()
    return ServiceDefinition(
        name="escalations",
        settings=s,
        migrations_package="cobuild_escalations",
        routers=[*routers, *public_routers],
        consumers=[consumers.parties],
        workers=[workers.watch_limits],
        description=DESCRIPTION,
        body_limits={"/whistles/": s.evidence_max_bytes + _MULTIPART_SLACK},
        verifier=verifier,
        clock=clock,
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
