"""agreements.events.v1 → commitments: open on signing, cancel on amendment or termination.

The kit's inbox makes a redelivered event a no-op; what each event does is
`usecases.agreements`.
"""

from __future__ import annotations

from cobuild_contracts import (
    AgreementAmended,
    AgreementSigned,
    AgreementTerminated,
    Envelope,
    topics,
)
from cobuild_kit.consumer import BatchContext, ConsumerSpec, EventContext
from cobuild_kit.parties import follow_parties

from cobuild_commitments.usecases import agreements

spec = follow_parties(ConsumerSpec(purpose="agreements", topics=[topics.AGREEMENTS], prompt=False))


@spec.on_many(AgreementSigned)
async def on_signed(ctx: BatchContext, items: list[tuple[Envelope, AgreementSigned]]) -> None:
    await agreements.sign_many(ctx.conn, ctx.emit, items)


@spec.on(AgreementAmended)
async def on_amended(ctx: EventContext, event: AgreementAmended) -> None:
    await agreements.amend(ctx.conn, ctx.emit, event)


@spec.on(AgreementTerminated)
async def on_terminated(ctx: EventContext, event: AgreementTerminated) -> None:
    await agreements.terminate(ctx.conn, ctx.emit, event)
