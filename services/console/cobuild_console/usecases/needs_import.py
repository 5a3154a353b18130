"""Importing a needs list from a spreadsheet (需求清单导入), in the background, all or none:
the steps, the job and its error report are list_import's; this module says how the needs
sheet is parsed, where its rows go (POST /communities/{id}/needs/bulk) and what its template
offers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cobuild_console import i18n
from cobuild_console.domain.list_sheet import ParsedSheet
from cobuild_console.domain.needs_sheet import COLUMNS, columns_of, missing_columns, parse
from cobuild_console.domain.needs_sheet import refused_rows as needs_refused_rows
from cobuild_console.domain.refusals import N_
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.list_import import (
    MAX_BYTES,
    ImportJob,
    ListImport,
    Picker,
    choices,
    error_report,
    message,
)
from cobuild_console.usecases.list_import import template as list_template
from cobuild_console.usecases.needs import every_need, reference

__all__ = ["MAX_BYTES", "ImportJob", "error_report", "message", "needs", "template"]


async def _parse(
    rt: ConsoleRuntime, token: str, job: ImportJob, rows: Sequence[tuple[int, Mapping[str, str]]]
) -> ParsedSheet:
    ref = await reference(rt, token)
    return parse(
        rows,
        community_id=job.owner_id,
        categories=choices(ref, "categories"),
        kinds=choices(ref, "need_kinds"),
        visibility=choices(ref, "visibility"),
    )


async def _existing(rt: ConsoleRuntime, token: str, community_id: str) -> set[str]:
    return {str(n["need_id"]) for n in await every_need(rt, token, community_id)}


needs = ListImport(
    name="needs",
    id_field="need_id",
    no_rows=N_("The file has no rows of needs."),
    missing_columns=lambda header: missing_columns(columns_of(header)),
    parse=_parse,
    existing=_existing,
    bulk_path=lambda community_id: f"/communities/{community_id}/needs/bulk",
    refused_rows=needs_refused_rows,
)
jobs = needs.jobs


def start(rt: ConsoleRuntime, token: str, job: ImportJob, data: bytes) -> None:
    needs.start(rt, token, job, data)


def template(ref: dict[str, Any]) -> bytes:
    """The needs list's template: the needs sheet first (Chinese headers, pickers on the coded
    columns), then how to fill it in, then the pickers' options."""
    tag = "zh-CN"

    def labels(name: str) -> list[str]:
        return [c["labels"].get(tag) or c["code"] for c in ref.get(name, [])]

    return list_template(
        "需求清单",
        COLUMNS,
        [
            Picker("category", labels("categories")),
            Picker("kind", labels("need_kinds")),
            Picker("visibility", labels("visibility")),
        ],
        notes=[
            i18n.gettext("Amounts in yuan with at most two decimals; dates as 2026-05-01."),
            i18n.gettext("Importing the same file again changes nothing."),
        ],
    )
