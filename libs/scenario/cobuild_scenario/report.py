"""The year's report, read back ONLY from the services' query APIs and the topics themselves.

Nothing here looks at the plan or the driver's bookkeeping: the figures are what the system
computed. Names come from the directory (agreements), rates from the fulfilment ledger and the
assessment (evaluation), overdue commitments from the commitments service, event counts from
reading every topic. Figures are keyed by names, never by generated ids, so the same seed gives
the same report.json.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from rich import box
from rich.console import Console
from rich.table import Table

from cobuild_scenario import report_html, whistle_report
from cobuild_scenario.actors import Actor, Api

YEAR = 2026
SNAPSHOTS = {"mid_year": "2026-06-30", "year_end": "2026-12-31"}
KEPT = (
    "signed",
    "signed_fen",
    "fulfilled",
    "fulfilled_fen",
    "due",
    "on_time",
    "overdue",
    "overdue_fen",
    "flagged_overdue",
    "cancelled",
    "fulfilment_rate",
    "fulfilment_rate_fen",
    "on_time_rate",
)
SCORE_BANDS = (
    ("fail <60", 0, 60),
    ("pass 60–75", 60, 75),
    ("good 75–90", 75, 90),
    ("excellent ≥90", 90, 101),
)


def _kept(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: figures[k] for k in KEPT}


async def build(
    api: Api, info: Any, *, district_id: str, out_dir: Path, console: Console | None = None
) -> dict[str, Any]:
    district = api.actor("district_admin", district_id)
    names = await _names(district)
    figures: dict[str, Any] = {
        "fulfilment": {
            k: await _fulfilment(district, district_id, d) for k, d in SNAPSHOTS.items()
        },
        "overdue": await _overdue(district, names),
        "meetings": await _meetings(district, district_id, names),
        "assessment": await _assessment(district, district_id, names),
        "whistles": await whistle_report.figures(district, district_id),
        "events": await count_events(info["broker"]["bootstrap"], info["topics"]),
    }
    streets = figures["fulfilment"]["year_end"]["streets"]
    exports = await _exports(district, district_id)
    await asyncio.to_thread(write_files, out_dir, figures, exports)
    # Not part of report.json (an id): where the public board of the first street is.
    board = await _parties(district, parent_id=district_id, kind="street")
    by_name = {p["name"]: str(p["party_id"]) for p in board}
    first = streets[0]["name"] if streets else None
    return {**figures, "board_street_id": by_name.get(first) if first else None}


async def _names(district: Actor) -> dict[str, str]:
    out: dict[str, str] = {}
    for kind in ("street", "community", "unit"):
        for p in await _parties(district, kind=kind):
            out[str(p["party_id"])] = p["name"]
    return out


async def _parties(district: Actor, **params: Any) -> list[dict[str, Any]]:
    """Every party the directory lists with `params`, page by page."""
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = await district.get("agreements", "/parties", **params, limit=500, offset=offset)
        items += page["items"]
        offset = page["next_offset"]
    return items


async def _fulfilment(district: Actor, district_id: str, as_of: str) -> dict[str, Any]:
    top = await district.get("evaluation", "/ledger", scope="district", id=district_id, as_of=as_of)
    streets = []
    for child in top["children"]:
        view = await district.get(
            "evaluation", "/ledger", scope="street", id=child["id"], as_of=as_of
        )
        streets.append(
            {
                "name": child["name"],
                **_kept(child["figures"]),
                "communities": [
                    {"name": c["name"], **_kept(c["figures"])} for c in view["children"]
                ],
            }
        )
    return {"as_of": as_of, "district": _kept(top["figures"]), "streets": streets}


async def _pages(actor: Actor, service: str, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = await actor.get(service, path, **params, limit=500, offset=offset)
        items += page["items"]
        offset = page["next_offset"]
    return items


async def _meetings(district: Actor, district_id: str, names: dict[str, str]) -> dict[str, Any]:
    """The joint meetings each alliance held (from the agreements service) and how its
    street's meeting decisions were fulfilled (the ledger, origin=meeting), at year end."""
    year_end = SNAPSHOTS["year_end"]
    alliances = []
    for al in await _pages(district, "agreements", "/alliances", party_id=district_id):
        held = await _pages(district, "agreements", f"/alliances/{al['alliance_id']}/meetings")
        view = await district.get(
            "evaluation",
            "/ledger",
            scope=al["host_kind"],
            id=al["host_party_id"],
            as_of=year_end,
            origin="meeting",
        )
        alliances.append(
            {
                "name": al["name"],
                "host": names.get(str(al["host_party_id"]), "?"),
                "meetings": len(held),
                "decisions": sum(m["decision_count"] for m in held),
                "fulfilment": _kept(view["figures"]),
                "held": [
                    {
                        "number": m["number"],
                        "held_on": m["held_on"],
                        "chair": names.get(str(m["chair_unit_id"]), "?"),
                        "present": len(m["present_unit_ids"]),
                        "decisions": m["decision_count"],
                    }
                    for m in sorted(held, key=lambda m: int(m["number"]))
                ],
            }
        )
    top = await district.get(
        "evaluation", "/ledger", scope="district", id=district_id, as_of=year_end, origin="meeting"
    )
    return {
        "as_of": year_end,
        "district": _kept(top["figures"]),
        "alliances": sorted(alliances, key=lambda a: (a["host"], a["name"])),
    }


async def _overdue(district: Actor, names: dict[str, str]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = await district.get(
            "commitments", "/commitments", overdue="true", limit=200, offset=offset
        )
        items += page["items"]
        offset = page["next_offset"]
    listed = sorted(
        (
            {
                "title": c["title"],
                "community": names.get(str(c["community_id"]), "?"),
                "unit": names.get(str(c["unit_id"]), "?"),
                "deadline": c["deadline"],
                "status": c["status"],
                "funds_fen": c["funds_fen"],
            }
            for c in items
        ),
        key=lambda c: (c["deadline"], c["title"]),
    )
    return {
        "flagged": len(listed),
        "still_open": sum(1 for c in listed if c["status"] != "fulfilled"),
        "fulfilled_late": sum(1 for c in listed if c["status"] == "fulfilled"),
        "by_community": dict(sorted(Counter(c["community"] for c in listed).items())),
        "commitments": listed,
    }


async def _assessment_members(
    district: Actor, district_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The published assessment (its first page) and every member's result, page by page."""
    first: dict[str, Any] | None = None
    members: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = await district.get(
            "evaluation",
            f"/assessments/{YEAR}",
            district_id=district_id,
            subject="member",
            limit=500,
            offset=offset,
        )
        first = first or page
        members += page["items"]
        offset = page["next_offset"]
    assert first is not None
    return first, members


async def _assessment(district: Actor, district_id: str, names: dict[str, str]) -> dict[str, Any]:
    res, members = await _assessment_members(district, district_id)
    scores = sorted(Decimal(m["score"]) for m in members)
    bands = {label: sum(1 for s in scores if low <= s < high) for label, low, high in SCORE_BANDS}
    ranked: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:  # every unit: ties at the tenth rank are listed by name below
        ranking = await district.get(
            "evaluation",
            f"/assessments/{YEAR}/rankings",
            district_id=district_id,
            scope="district",
            subject="unit",
            limit=500,
            offset=offset,
        )
        ranked += ranking["items"]
        offset = ranking["next_offset"]
    top = [
        {
            "rank": r["rank"],
            "unit": names.get(r["subject_id"], r["subject_id"]),
            "score": r["score"],
            "grade": r["grade"],
        }
        for r in ranked
    ]
    # Ties share a rank and are listed by id; list them by name so reruns read the same.
    top = sorted(top, key=lambda u: (u["rank"], u["unit"]))[:10]
    return {
        "policy_version": res["policy_version"],
        "totals": res["totals"],
        "member_score_bands": bands,
        "member_score_mean": format(
            (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.01"))
            if scores
            else Decimal(0),
            "f",
        ),
        "member_scores": [format(s, "f") for s in scores],
        "top_units": top,
    }


async def count_events(bootstrap: str, topics: list[str]) -> dict[str, Any]:
    """Read every topic from the beginning and count what is there, per topic and per event
    type. Tansu's end offsets undercount multi-record batches, so messages are counted by
    reading until fetches come back empty, not by offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = []
        for topic in topics:
            known = consumer.partitions_for_topic(topic)
            if known is None:
                await consumer._client.force_metadata_update()
                known = consumer.partitions_for_topic(topic) or set()
            parts += [TopicPartition(topic, p) for p in sorted(known)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        per_topic: Counter[str] = Counter()
        per_type: Counter[str] = Counter()
        empty = 0
        while empty < 3:
            batch = await consumer.getmany(timeout_ms=400, max_records=5000)
            if not any(batch.values()):
                empty += 1
                continue
            empty = 0
            for tp, records in batch.items():
                per_topic[tp.topic] += len(records)
                for record in records:
                    kind = dict(record.headers or ()).get("event_type")
                    per_type[kind.decode() if isinstance(kind, bytes) else "?"] += 1
    finally:
        await consumer.stop()
    return {
        "per_topic": {t: per_topic.get(t, 0) for t in sorted(topics)},
        "per_event_type": dict(sorted(per_type.items())),
        "total": sum(per_topic.values()),
    }


async def _exports(district: Actor, district_id: str) -> dict[str, bytes]:
    jobs = {
        f"ledger-district-{SNAPSHOTS['year_end']}.{fmt}": district.get_bytes(
            "evaluation",
            f"/exports/ledger.{fmt}",
            scope="district",
            id=district_id,
            as_of=SNAPSHOTS["year_end"],
        )
        for fmt in ("csv", "xlsx")
    }
    jobs.update(
        {
            f"assessment-{YEAR}.{fmt}": district.get_bytes(
                "evaluation", f"/exports/assessments/{YEAR}.{fmt}", district_id=district_id
            )
            for fmt in ("csv", "xlsx")
        }
    )
    contents = await asyncio.gather(*jobs.values())
    return dict(zip(jobs, contents, strict=True))


def write_files(out_dir: Path, figures: dict[str, Any], exports: dict[str, bytes]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, content in exports.items():
        (out_dir / name).write_bytes(content)
    (out_dir / "report.json").write_text(
        json.dumps(figures, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    for lang, name in report_html.FILES.items():  # report.html (中文) and report.en.html
        (out_dir / name).write_text(render_html(figures, lang), encoding="utf-8")


# --- terminal -----------------------------------------------------------------------------


def _pct(rate: str | None) -> str:
    return "—" if rate is None else f"{Decimal(rate) * 100:.1f}%"


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.0f}"


def print_summary(figures: dict[str, Any], console: Console) -> None:
    mid, end = figures["fulfilment"]["mid_year"], figures["fulfilment"]["year_end"]
    # Fits an 80-column terminal with the names whole: no vertical rules, short two-line
    # headers for the rates, and a scope column that never wraps or cuts a name.
    table = Table(
        title="Fulfilment (履约率) by street and community",
        caption="rates by count and by value, at mid-year (Jun 30) and year end (Dec 31)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("scope", no_wrap=True)
    for col in (
        "signed",
        "funds",
        "Jun 30\ncount",
        "Jun 30\nvalue",
        "Dec 31\ncount",
        "Dec 31\nvalue",
        "overdue",
    ):
        table.add_column(col, justify="right", no_wrap=True)

    def row(label: str, m: dict[str, Any], e: dict[str, Any], style: str = "") -> None:
        table.add_row(
            label,
            str(e["signed"]),
            _yuan(e["signed_fen"]),
            _pct(m["fulfilment_rate"]),
            _pct(m["fulfilment_rate_fen"]),
            _pct(e["fulfilment_rate"]),
            _pct(e["fulfilment_rate_fen"]),
            str(e["overdue"]),
            style=style,
        )

    row("district", mid["district"], end["district"], "bold")
    for ms, es in zip(mid["streets"], end["streets"], strict=True):
        row(es["name"], ms, es, "cyan")
        for mc, ec in zip(ms["communities"], es["communities"], strict=True):
            row("  " + ec["name"], mc, ec)
    console.print(table)
    for line in summary_lines(figures):
        console.print(line)
    a = figures["assessment"]
    scores = Table(title=f"Member scores (policy {a['policy_version']})")
    scores.add_column("band")
    scores.add_column("members", justify="right")
    for band, n in a["member_score_bands"].items():
        scores.add_row(band, str(n))
    console.print(scores)
    units = Table(title="Top units")
    for col in ("rank", "unit", "score", "grade"):
        units.add_column(col)
    for u in a["top_units"]:
        units.add_row(str(u["rank"]), u["unit"], u["score"], u["grade"])
    console.print(units)
    meetings = figures["meetings"]
    if meetings["alliances"]:
        joint = Table(
            title="Joint meetings (联席会议) and their decisions",
            caption=f"decisions fulfilled as of {meetings['as_of']}, by count and by value",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        joint.add_column("alliance", no_wrap=True)
        for col in ("meetings", "decisions", "fulfilled", "count", "value"):
            joint.add_column(col, justify="right", no_wrap=True)
        for a in meetings["alliances"]:
            f = a["fulfilment"]
            joint.add_row(
                a["name"],
                str(a["meetings"]),
                str(a["decisions"]),
                str(f["fulfilled"]),
                _pct(f["fulfilment_rate"]),
                _pct(f["fulfilment_rate_fen"]),
            )
        console.print(joint)
    whistle_report.print_table(figures["whistles"], console)
    events = Table(title="Events that flowed, per topic")
    events.add_column("topic")
    events.add_column("events", justify="right")
    for topic, n in figures["events"]["per_topic"].items():
        events.add_row(topic, str(n))
    events.add_row("total", str(figures["events"]["total"]), style="bold")
    console.print(events)


def summary_lines(figures: dict[str, Any]) -> list[str]:
    end = figures["fulfilment"]["year_end"]["district"]
    mid = figures["fulfilment"]["mid_year"]["district"]
    a = figures["assessment"]
    o = figures["overdue"]
    return [
        f"signed: {end['signed']} commitments, {_yuan(end['signed_fen'])} of funds",
        f"fulfilment rate, mid-year: {_pct(mid['fulfilment_rate'])} by count, "
        f"{_pct(mid['fulfilment_rate_fen'])} by value ({mid['fulfilled']} fulfilled)",
        f"fulfilment rate, year end: {_pct(end['fulfilment_rate'])} by count, "
        f"{_pct(end['fulfilment_rate_fen'])} by value ({end['fulfilled']} fulfilled); "
        f"on time {_pct(end['on_time_rate'])}",
        f"overdue: {o['flagged']} flagged ({o['fulfilled_late']} fulfilled late, "
        f"{o['still_open']} still open at year end)",
        f"members scored: {a['totals']['member_count']}, excellent rate "
        f"{_pct(a['totals']['member_excellent_rate'])}, mean score {a['member_score_mean']}",
        f"units scored: {a['totals']['unit_count']}; top unit: "
        + (
            f"{a['top_units'][0]['unit']} ({a['top_units'][0]['score']})" if a["top_units"] else "—"
        ),
        _meetings_line(figures["meetings"]),
        whistle_report.summary_line(figures["whistles"]),
        f"events: {figures['events']['total']} across {len(figures['events']['per_topic'])} topics",
    ]


def _meetings_line(meetings: dict[str, Any]) -> str:
    alliances = meetings["alliances"]
    if not alliances:
        return "joint meetings: none (no alliance at this scale)"
    held = sum(a["meetings"] for a in alliances)
    decided = sum(a["decisions"] for a in alliances)
    f = meetings["district"]
    return (
        f"joint meetings: {held} held by {len(alliances)} "
        f"{'alliance' if len(alliances) == 1 else 'alliances'}, {decided} decisions; "
        f"decisions fulfilled {_pct(f['fulfilment_rate'])} by count, "
        f"{_pct(f['fulfilment_rate_fen'])} by value ({f['fulfilled']} of {f['signed']}, "
        f"{f['overdue']} overdue)"
    )


# --- HTML ----------------------------------------------------------------------------------


def render_html(figures: dict[str, Any], lang: str = "zh") -> str:
    """report.html (Chinese; `lang="en"`: report.en.html): see report_html."""
    return report_html.render(figures, lang, summary=summary_lines)
