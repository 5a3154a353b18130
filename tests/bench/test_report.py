"""bench/RESULTS.md holds every figure: its own, and the rows it carries from the last
`make bench-large`. A large run refreshes those carried rows, and leaves the rest alone."""

from __future__ import annotations

from pathlib import Path

from bench.report import CARRIED_HEADING, Carried, Report, Row, refresh_carried

SECTIONS = {"Latency under steady load": ["p99 as measured"], "Log": ["- a detail"]}


def _large(path: Path, pipeline: float, queries: float) -> None:
    report = Report("Large")
    report.add(Row("ref: raw pipeline", 15_000, "events/s"))
    report.add(Row("pipeline 1,000,000: fulfilled", pipeline, "events/s", 15_000, "raw"))
    report.add(Row("ledger query p99", queries, "ms", 1.2, "raw SQL", "≤ 20 ms", True))
    report.add(Row("rebuild, per 10^6 entries", 45.0, "s", 7.8, "COPY", "≤ 60 s", True))
    report.write(path, "Large run.", {})


def _summary_rows(path: Path, under: str) -> list[str]:
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(under)) + 1
    rows = []
    for line in lines[start:]:
        if line.startswith("#"):
            break
        if line.startswith("| ") and not line.startswith("| figure"):
            rows.append(line.split(" | ")[0][2:] + " = " + line.split(" | ")[1])
    return rows


def test_a_large_run_refreshes_the_carried_rows_and_nothing_else(tmp_path: Path) -> None:
    large, results = tmp_path / "RESULTS-large.md", tmp_path / "RESULTS.md"
    _large(large, pipeline=1_900, queries=25.0)
    own = Report("Bench")
    own.add(Row("ref: raw pipeline", 10_000, "events/s"))
    own.add(Row("rebuild, per 10^6 entries", 44.1, "s", 13.4, "COPY", "≤ 60 s", True))
    own.write(results, "Bench run.", SECTIONS, Carried.read(large, {"rebuild, per 10^6 entries"}))
    before, own_rows = results.read_text(), _summary_rows(results, "## Summary")
    assert _summary_rows(results, CARRIED_HEADING) == [
        "pipeline 1,000,000: fulfilled = 1,900 events/s",
        "ledger query p99 = 25.0 ms",
    ]

    _large(large, pipeline=2_030, queries=9.58)  # the next `make bench-large`
    assert refresh_carried(results, large)

    after = results.read_text()
    assert _summary_rows(results, CARRIED_HEADING) == [
        "pipeline 1,000,000: fulfilled = 2,030 events/s",
        "ledger query p99 = 9.58 ms",
    ]
    # Its own rows (a rebuild it measured itself, the references) and its sections stay.
    assert _summary_rows(results, "## Summary") == own_rows
    assert "| rebuild, per 10^6 entries | 44.1 s |" in after
    assert after.count("rebuild, per 10^6") == 1
    head, _, tail = before.partition(CARRIED_HEADING)
    assert after.startswith(head) and after.endswith(tail[tail.index("\n## ") :])
    assert large.read_text().splitlines()[2] in after  # the run line names the new run


def test_a_results_file_without_carried_rows_gets_them_and_a_missing_one_is_left(
    tmp_path: Path,
) -> None:
    large, results = tmp_path / "RESULTS-large.md", tmp_path / "RESULTS.md"
    assert not refresh_carried(results, large)
    assert not results.exists()
    _large(large, pipeline=2_030, queries=9.58)
    Report("Bench").write(results, "Bench run.", SECTIONS)
    assert CARRIED_HEADING not in results.read_text()
    assert refresh_carried(results, large)
    assert len(_summary_rows(results, CARRIED_HEADING)) == 3
    text = results.read_text()
    assert text.index(CARRIED_HEADING) < text.index("## Latency under steady load")
    assert refresh_carried(results, large) and results.read_text() == text  # idempotent
