"""The commitments service: its HTTP routers, consumers and workers, wired by the runtime kit."""

from __future__ import annotations

from cobuild_kit.auth import TokenVerifier
from cobuild_kit.clock import Clock
from cobuild_kit.service import ServiceDefinition, asyncapi, create_app
from fastapi import FastAPI
from faststream import FastStream

from cobuild_commitments import consumers, workers
from cobuild_commitments.http import routers
from cobuild_commitments.settings import CommitmentsSettings

DESCRIPTION = """\
Fulfil (履约): one commitment per signed item, claimed, reported with evidence, marked done by
the obligor, confirmed or refused by the beneficiary, and flagged once when overdue.

**Business dates.** A deadline is a date in Asia/Shanghai. `done_date` is the Asia/Shanghai
date of `done_at`, the moment the obligor marked the work done.

**On time.** A fulfilled commitment is on time when its `done_date` is on or before its deadline,
however late the beneficiary confirms it.

**The overdue flag** (`overdue`, `overdue_at`; event `commitment.overdue`) is raised once and
never lowered; it is a flag, not a state, and a flagged commitment can still be fulfilled (late).
From the day after the deadline:
- work still owed (`opened`, `claimed`, `in_progress`) is flagged by the deadlines worker;
- work marked done **on or before** the deadline and not yet confirmed is **not** flagged,
  however long it waits for confirmation; confirmed, it is fulfilled on time;
- work marked done **after** the deadline and not yet confirmed is flagged like owed work (if it
  was not already); confirmed, it is fulfilled late (`on_time: false`);
- a refusal sends the work back to `in_progress` and its done date no longer counts. Refused
  **after** the deadline's date, the commitment is flagged **at once**, in the refusal's own
  transaction (`commitment.confirmation_refused`, then `commitment.overdue`), even though it
  had been marked done in time; refused on or before the deadline, it is flagged after the
  deadline if it is still owed then. Only the next marking done decides `on_time`;
- fulfilled and cancelled commitments are never flagged.
One reminder (`commitment.reminder_due`) goes out in the `reminder_days` before the deadline,
only while the work is owed and never after the flag.

**Fulfilment's date.** `commitment.fulfilled` carries `done_date`, not the confirmation's date:
the points service awards the participants' task points in that date's year.

**Members.** Assignees (`PUT .../assignees`) and participants (marking done, and the
beneficiary's replacement list when confirming) must be members currently registered with the
obligor party: a unit's own members, or the members serving in a community, who have not left.
This service learns them from the points service's `member.reported`, `member.transferred` and
`member.left`, a moment after the points service accepts them: one not known here yet is
refused like a stranger, with a 422 naming the item (`body.member_ids.2`,
`body.participants.0.member_id`) and "not (yet) a registered member of <party>"; a retry
succeeds once the report has arrived. Nothing is written by a refused command.

**Experts.** An expert (role `expert`) whom the evaluation service assigned to score a
commitment (its `expert.assigned`, kept here a moment after the assignment) may read that
commitment and list and download its evidence: nothing else of it (its history answers 404,
every command 403), and no other commitment (404).

**Refusals.** A commitment, its history or evidence, or a task inbox that the caller may not
read answers 404, exactly as one that does not exist. A command for a party the caller may not
act for answers 403 with the reason; one the commitment's state forbids, 409 naming the state.
"""

# Multipart overhead on top of the file itself; a file over the limit still gets a 422.
_MULTIPART_SLACK = 1024 * 1024


def definition(
    settings: CommitmentsSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    clock: Clock | None = None,
) -> ServiceDefinition[CommitmentsSettings]:
    s = settings or CommitmentsSettings()
    return ServiceDefinition(
        name="commitments",
        settings=s,
        migrations_package="cobuild_commitments",
        routers=list(routers),
        consumers=[consumers.spec, consumers.members_spec, consumers.experts_spec],
        workers=[workers.watch_deadlines],
        description=DESCRIPTION,
        # Path prefix limits: the evidence upload lives under /commitments/.
        body_limits={"/commitments/": s.evidence_max_bytes + _MULTIPART_SLACK},
        verifier=verifier,
        clock=clock,
    )


def app() -> FastAPI:
    return create_app(definition())


def asyncapi_app() -> FastStream:
    return asyncapi(definition())
