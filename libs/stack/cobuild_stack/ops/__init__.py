"""Operator commands of the `cobuild` CLI: replay, dlq, verify, assess, export, import, lag,
outbox, access."""

from __future__ import annotations

import typer

from . import access, assess, dlq, export, importing, lag, outbox, replay, verify


def register(app: typer.Typer) -> None:
    app.command("replay")(replay.command)
    app.add_typer(dlq.app, name="dlq")
    app.command("verify")(verify.command)
    app.add_typer(assess.app, name="assess")
    app.add_typer(export.app, name="export")
    app.add_typer(importing.app, name="import")
    app.command("lag")(lag.command)
    app.add_typer(outbox.app, name="outbox")
    app.add_typer(access.app, name="access")


__all__ = ["register"]
