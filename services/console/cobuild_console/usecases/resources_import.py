"""Importing a unit's resources list from a spreadsheet (资源清单导入), in the background, all
or none: the steps, the job and its error report are list_import's; this module says how the
resources sheet is parsed (categories, kinds and the unit's paired communities by name), where
its rows go (POST /units/{id}/resources/bulk) and what its template offers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from cobuild_console import i18n
from cobuild_console.domain.list_sheet import ParsedSheet
from cobuild_console.domain.refusals import N_
from cobuild_console.domain.resources_sheet import COLUMNS, columns_of, missing_columns, parse
from cobuild_console.domain.resources_sheet import refused_rows as resources_refused_rows
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.list_import import ImportJob, ListImport, Picker, choices
from cobuild_console.usecases.list_import import template as list_template
from cobuild_console.usecases.needs import reference
from cobuild_console.usecases.parties import names


async def paired_communities(rt: ConsoleRuntime, token: str, unit_id: str) -> dict[str, str]:
    """The unit's paired communities: id → name (what a resource may be limited to)."""
    unit = await rt.services.get("agreements", f"/parties/{unit_id}", token)
    return await names.of(rt, token, [str(c) for c in unit.get("paired_community_ids", [])])


async def _parse(
    rt: ConsoleRuntime, token: str, job: ImportJob, rows: Sequence[tuple[int, Mapping[str, str]]]
) -> ParsedSheet:
    ref, paired = await asyncio.gather(
        reference(rt, token), paired_communities(rt, token, job.owner_id)
    )
    return parse(
        rows,
        unit_id=job.owner_id,
        categories=choices(ref, "categories"),
        kinds=choices(ref, "resource_kinds"),
        communities=paired,
    )


async def _existing(rt: ConsoleRuntime, token: str, unit_id: str) -> set[str]:
    every = await rt.services.every("agreements", "/resources", token, {"unit_id": unit_id})
    return {str(r["resource_id"]) for r in every}


resources = ListImport(
    name="resources",
    id_field="resource_id",
    no_rows=N_("The file has no rows of resources."),
    missing_columns=lambda header: missing_columns(columns_of(header)),
    parse=_parse,
    existing=_existing,
    bulk_path=lambda unit_id: f"/units/{unit_id}/resources/bulk",
    refused_rows=resources_refused_rows,
)


def template(ref: dict[str, Any], paired: Mapping[str, str]) -> bytes:
    """The resources list's template: the sheet first (Chinese headers, pickers for category,
    kind and one paired community), then how to fill it in, then the pickers' options."""
    tag = "zh-CN"

    def labels(name: str) -> list[str]:
        return [c["labels"].get(tag) or c["code"] for c in ref.get(name, [])]

    return list_template(
        "资源清单",
        COLUMNS,
        [
            Picker("category", labels("categories")),
            Picker("kind", labels("resource_kinds")),
            Picker("community_ids", sorted(paired.values())),
        ],
        notes=[
            i18n.gettext("Amounts in yuan with at most two decimals; dates as 2026-05-01."),
            i18n.gettext(
                "Leave the communities empty to offer the resource to any community; to limit "
                "it to several paired communities, separate their names with 、."
            ),
            i18n.gettext("Importing the same file again changes nothing."),
        ],
    )
