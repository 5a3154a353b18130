"""bench/FINDINGS.md is where the benchmarks' prose lives: a RESULTS file opens with its "How to
read the figures" and lists the lead of every finding, linked to the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report import FINDINGS_FILE, FINDINGS_HEADING, Findings, Report, Row

FILE = """# Findings

Intro.

## How to read the figures

Every figure sits next to a reference.

Paths, per figure.

## What the profiles showed, and what was changed

- **Round trips were the first cause.** py-spy found
  most samples in `write`.
- **Ledger queries** answer from the daily aggregates, so they do
  not grow; the cost is per request.
- **Replay.** Topped up to 10^6 rows.
"""


def test_the_preface_and_each_findings_lead_are_read_from_the_markdown(tmp_path: Path) -> None:
    path = tmp_path / "FINDINGS.md"
    path.write_text(FILE)
    findings = Findings.read(path)
    assert findings.preface == "Every figure sits next to a reference.\n\nPaths, per figure."
    assert findings.items[0] == (
        "**Round trips were the first cause.** py-spy found most samples in `write`."
    )
    assert findings.leads() == [
        "**Round trips were the first cause.**",
        "**Ledger queries** answer from the daily aggregates, so they do not grow.",
        "**Replay.**",
    ]


def test_a_results_file_opens_with_the_preface_and_links_the_findings(tmp_path: Path) -> None:
    (tmp_path / "bench").mkdir()
    path = tmp_path / "bench" / "FINDINGS.md"
    path.write_text(FILE)
    findings = Findings.read(path)
    results = tmp_path / "var" / "bench-smoke" / "RESULTS.md"
    results.parent.mkdir(parents=True)
    report = Report("Bench")
    report.add(Row("ref: raw pipeline", 10_000, "events/s"))
    report.write(results, findings.preface, {FINDINGS_HEADING[3:]: findings.section(results)})
    text = results.read_text()
    assert text.index("Every figure sits next to a reference.") < text.index("## Summary")
    link = "(../../bench/FINDINGS.md#what-the-profiles-showed-and-what-was-changed)"
    assert f"[bench/FINDINGS.md]{link}" in text
    assert "- **Replay.**\n" in text
    assert "Topped up" not in text  # the detail stays in FINDINGS.md


def test_the_repositorys_findings_file_reads() -> None:
    findings = Findings.read()
    assert findings.preface.startswith("Every figure sits next to a reference")
    assert len(findings.items) >= 20
    assert all(lead.startswith("**") for lead in findings.leads())
    section = findings.section(FINDINGS_FILE.with_name("RESULTS.md"))
    assert "(FINDINGS.md#what-the-profiles-showed-and-what-was-changed)" in section[0]


def test_a_findings_file_without_its_sections_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "FINDINGS.md"
    path.write_text("# Findings\n\nNothing here.\n")
    with pytest.raises(ValueError, match="How to read the figures"):
        Findings.read(path)


def test_a_results_file_outside_the_repository_links_the_findings_absolutely(
    tmp_path: Path,
) -> None:
    (tmp_path / "repo" / "bench").mkdir(parents=True)
    path = tmp_path / "repo" / "bench" / "FINDINGS.md"
    path.write_text(FILE)
    section = Findings.read(path).section(tmp_path / "elsewhere" / "RESULTS.md")
    assert f"]({path.resolve().as_posix()}#" in section[0]
