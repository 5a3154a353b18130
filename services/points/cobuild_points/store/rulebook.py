"""The shipped rule sets (rules/*.yaml, read once) and the version each year is bound to
(`rule_set_year`)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources

import asyncpg
import yaml

from cobuild_points.domain.rules import RuleSet, parse_rule_set, rule_set_for_new_year


@cache
def shipped() -> tuple[RuleSet, ...]:
    folder = resources.files("cobuild_points") / "rules"
    sets = [
        parse_rule_set(yaml.safe_load(f.read_text(encoding="utf-8")))
        for f in sorted(folder.iterdir(), key=lambda p: p.name)
        if f.name.endswith((".yaml", ".yml"))
    ]
    versions = [s.version for s in sets]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate rule set versions: {versions}")
    return tuple(sets)


def by_version(version: str) -> RuleSet:
    for rule_set in shipped():
        if rule_set.version == version:
            return rule_set
    raise LookupError(f"rule set {version} is not shipped with this build")


async def for_year(
    conn: asyncpg.Connection, year: int, *, fix_at: datetime | None = None
) -> RuleSet:
    """The rule set of `year`: the recorded one, else the newest that applies. With `fix_at`,
    the choice is recorded, so later releases never change a year already under way."""
    recorded = await conn.fetchval("SELECT version FROM rule_set_year WHERE year = $1", year)
    if recorded is not None:
        return by_version(recorded)
    chosen = rule_set_for_new_year(list(shipped()), year)
    if fix_at is not None:
        await conn.execute(
            "INSERT INTO rule_set_year (year, version, fixed_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (year) DO NOTHING",
            year,
            chosen.version,
            fix_at,
        )
        recorded = await conn.fetchval("SELECT version FROM rule_set_year WHERE year = $1", year)
        return by_version(recorded)
    return chosen


async def for_years(conn: asyncpg.Connection, first_at: dict[int, datetime]) -> dict[int, RuleSet]:
    """`for_year(conn, year, fix_at=at)` for each year: one query when every year is recorded."""
    rows = await conn.fetch(
        "SELECT year, version FROM rule_set_year WHERE year = ANY($1::int[])", list(first_at)
    )
    found = {r["year"]: by_version(r["version"]) for r in rows}
    for year, at in first_at.items():
        if year not in found:
            found[year] = await for_year(conn, year, fix_at=at)
    return found


async def fixed_at(conn: asyncpg.Connection, year: int) -> datetime | None:
    """When the year's rule set was fixed (at its first entry); None while it is not."""
    found: datetime | None = await conn.fetchval(
        "SELECT fixed_at FROM rule_set_year WHERE year = $1", year
    )
    return found
