"""RESULTS.md: a summary table (figure, value, reference, ratio, target, met?), then details.

The prose that is not one run's (how to read the figures, what the runs have shown) lives in
bench/FINDINGS.md: a RESULTS file opens with its "How to read the figures" section and lists
the lead of each finding with a link to the file, which holds the figures behind them.
"""

from __future__ import annotations

import math
import os
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.cpu import CORES

CARRIED_HEADING = "### Carried from the last `make bench-large`"
FINDINGS_FILE = Path(__file__).with_name("FINDINGS.md")
READING_HEADING = "## How to read the figures"
FINDINGS_HEADING = "## What the profiles showed, and what was changed"
_HEADER = "| figure | value | reference (same run) | ratio | target | met? |"
_RULE = "|---|---|---|---|---|---|"


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    reference: float | None = None
    ref_label: str = ""
    target: str = ""
    met: bool | None = None
    path: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0 or math.isnan(self.value):
            return None
        return self.value / self.reference


def fmt(v: float | None, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if abs(v) >= 1000:
        s = f"{v:,.0f}"
    elif abs(v) >= 100:
        s = f"{v:.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return f"{s} {unit}".strip()


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(
            f"[bench] {row.figure}: {fmt(row.value, row.unit)}"
            f" (ref {fmt(row.reference)} {row.ref_label}; target {row.target or '-'})",
            flush=True,
        )
        return row

    def note(self, text: str) -> None:
        print(f"[bench] {text}", flush=True)
        self.details.append(text)

    def table(self) -> str:
        lines = [_HEADER, _RULE]
        for r in self.rows:
            ref = f"{fmt(r.reference)} {r.ref_label}".strip() if r.reference is not None else "—"
            ratio = f"{r.ratio:.2f}" if r.ratio is not None else "—"
            met = "—" if r.met is None else ("yes" if r.met else "**no**")
            lines.append(
                f"| {r.figure} | {fmt(r.value, r.unit)} | {ref} | {ratio} | {r.target or '—'} | {met} |"
            )
        return "\n".join(lines)

    def write(
        self,
        path: Path,
        preface: str,
        sections: dict[str, list[str]],
        carried: Carried | None = None,
    ) -> None:
        took = (datetime.now(UTC) - self.started).total_seconds()
        out = [
            f"# {self.title}",
            "",
            f"Run {self.started:%Y-%m-%d %H:%M} UTC, {took / 60:.1f} min wall time, "
            f"{platform.node()} ({CORES} CPUs, Python {platform.python_version()}).",
            "",
            preface.strip(),
            "",
            "## Summary",
            "",
            self.table(),
            "",
            *(carried.lines() if carried else []),
        ]
        for name, lines in sections.items():
            out += [f"## {name}", "", *lines, ""]
        out += ["## Log of the run", "", *[f"- {d}" for d in self.details], ""]
        path.write_text("\n".join(out))


@dataclass(frozen=True)
class Carried:
    """The summary rows of another RESULTS file that this run does not measure, so that one
    file holds every figure: `make bench` cannot fit the 10^6 pipeline and 750,000 members
    into its 30 minutes, and `make bench-large` measures them. Each row keeps the reference
    measured in its own run."""

    source: str  # the file, as the repository names it
    run: str  # its "Run … UTC, … wall time" line
    rows: list[str]

    @classmethod
    def read(cls, path: Path, measured: set[str]) -> Carried | None:
        if not path.exists():
            return None
        lines = path.read_text().splitlines()
        span = _summary(lines)
        if span is None:
            return None
        rows = [
            line
            for figure, line in _table_rows(lines[span[0] : span[1]])
            if not figure.startswith("ref:") and figure not in measured
        ]
        run = next((line for line in lines if line.startswith("Run ")), "Run unknown.")
        return cls(f"bench/{path.name}", run, rows)

    def lines(self) -> list[str]:
        if not self.rows:
            return []
        return [
            f"{CARRIED_HEADING} ({self.source})",
            "",
            "Figures this run does not measure, each next to the reference measured in the run "
            f"that measured it. {self.run}",
            "",
            _HEADER,
            _RULE,
            *self.rows,
            "",
        ]


def refresh_carried(results: Path, large: Path) -> bool:
    """After `make bench-large`, bring `results`' carried rows up to date with `large`: the
    figures `results` measures itself stay as they are, and so does the rest of the file.
    False when there is no such file to refresh."""
    if not results.exists():
        return False
    lines = results.read_text().splitlines()
    span = _summary(lines)
    if span is None:
        return False
    start, end = span
    own_end = next((i for i in range(start, end) if lines[i].startswith(CARRIED_HEADING)), end)
    measured = {figure for figure, _ in _table_rows(lines[start:own_end])}
    carried = Carried.read(large, measured)
    block = carried.lines() if carried else []
    own = lines[start:own_end]
    while own and not own[-1]:
        own.pop()
    results.write_text("\n".join([*lines[:start], *own, "", *block, *lines[end:]]) + "\n")
    return True


@dataclass(frozen=True)
class Findings:
    """bench/FINDINGS.md, as a RESULTS file uses it: the preface on reading the figures (put
    at the top of the file as it stands) and the findings (one `- **lead** …` item each)."""

    path: Path
    preface: str
    items: list[str]  # each finding's text, its lines joined

    @classmethod
    def read(cls, path: Path = FINDINGS_FILE) -> Findings:
        lines = path.read_text().splitlines()
        preface = "\n".join(_section(lines, READING_HEADING)).strip()
        items: list[str] = []
        for line in _section(lines, FINDINGS_HEADING):
            if line.startswith("- "):
                items.append(line[2:].strip())
            elif items and line.strip():
                items[-1] += " " + line.strip()
        if not preface or not items:
            raise ValueError(f"{path}: no {READING_HEADING!r} or {FINDINGS_HEADING!r} section")
        return cls(path, preface, items)

    def leads(self) -> list[str]:
        return [_lead(item) for item in self.items]

    def section(self, results: Path) -> list[str]:
        """The body of the RESULTS file's findings section: a link, then every finding's lead."""
        results = results.resolve()
        repo = self.path.resolve().parent.parent
        # Relative inside the repository (as GitHub shows it); a file written elsewhere (--out)
        # gets the absolute path.
        target = (
            Path(os.path.relpath(self.path.resolve(), results.parent)).as_posix()
            if results.is_relative_to(repo)
            else self.path.resolve().as_posix()
        )
        anchor = re.sub(r"[^a-z0-9 -]", "", FINDINGS_HEADING[3:].lower()).replace(" ", "-")
        return [
            f"What the runs have shown, with the figures behind each finding and what was changed "
            f"because of it: [bench/FINDINGS.md]({target}#{anchor}). Its findings, by their leads:",
            "",
            *(f"- {lead}" for lead in self.leads()),
        ]


def _section(lines: list[str], heading: str) -> list[str]:
    """The body of the `## ` section titled `heading` (empty when there is none)."""
    if heading not in lines:
        return []
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def _lead(item: str) -> str:
    """A finding's bold lead; a lead that is the subject of its sentence ("**Ledger queries**
    answer from …") keeps the rest of that clause."""
    m = re.match(r"\*\*(.+?)\*\*(.*)", item)
    if m is None:
        return item.split(". ")[0]
    bold, rest = m.groups()
    if bold.endswith((".", "!", "?")) or not rest.strip():
        return f"**{bold}**"
    clause = re.split(r"[.;:](?:\s|$)", rest, maxsplit=1)[0]
    return f"**{bold}**{clause}."


def _summary(lines: list[str]) -> tuple[int, int] | None:
    """Where the "## Summary" section's body starts and ends (the next "## " heading)."""
    if "## Summary" not in lines:
        return None
    start = lines.index("## Summary") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, end


def _table_rows(lines: list[str]) -> list[tuple[str, str]]:
    """(figure, line) for each row of the summary tables among `lines`."""
    return [
        (line[2:].split(" | ", 1)[0], line)
        for line in lines
        if line.startswith("| ") and line != _HEADER
    ]


Check = Callable[[float], bool]
