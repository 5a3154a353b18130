"""The pure parts of the suite's steps (bench/steps/) and of its orchestration (bench/run.py);
the steps themselves need the stack, and run under `make bench`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run
from bench.steps import assessment, latency, ledger_queries
from bench.suite import partial, top_frames


def test_a_figure_says_when_its_phase_hit_the_time_cap() -> None:
    assert partial(10_000, 10_000) == ""
    assert partial(7_500, 10_000) == " (partial: 7,500 done within the phase's time cap)"


def test_the_profile_lists_the_frames_on_top_of_the_stack(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "main (app.py:1);select (selectors.py:9);EpollSelector.select (selectors.py:468) 60\n"
        "main (app.py:1);write (asyncio/selector_events.py:3);"
        "_SelectorSocketTransport.write (selector_events.py:1071) 30\n"
        "main (app.py:1);handle (/srv/svc/handlers.py:12) 10\n"
        "not a sample line\n"
    )
    assert top_frames(raw, k=2) == (
        "100 samples: waiting in select 60%, in socket sends 30%; top self: "
        "EpollSelector.select (selectors.py) 60%; "
        "_SelectorSocketTransport.write (selector_events.py) 30%"
    )
    raw.write_text("")
    assert top_frames(raw) == "no samples"


def test_a_confirms_hops_run_between_its_marks() -> None:
    hops = latency.hop_ms([10.000, 10.002, 10.030, 10.050, 10.051])
    assert list(hops) == list(latency.HOPS)
    assert [round(ms, 3) for ms in hops.values()] == [2.0, 28.0, 20.0, 1.0]


def test_a_scopes_row_tells_first_reads_from_repeats() -> None:
    assert ledger_queries.scope_line("community", [5.0, 7.0, 1.0, 1.0, 2.0], 2) == (
        "| community | 2.0 | 7.0 | 7.0 | 7.0 | 2.0 |"
    )
    # One id per query: no repeats, and the empty column shows as a dash.
    assert (
        ledger_queries.scope_line("unit", [3.0, 4.0], 2) == "| unit | 3.0 | 4.0 | 4.0 | 4.0 | — |"
    )


def test_the_assessment_targets_are_at_the_sizes_that_have_one() -> None:
    assert assessment.target_s(124_000) == 10
    assert assessment.target_s(750_000) == 60
    assert assessment.target_s(5_000) is None


def test_only_names_the_steps_to_run() -> None:
    assert run.only_steps("") is None
    assert run.only_steps(" pipeline10k, ledger ,") == {"pipeline10k", "ledger"}
    args = run.parse_args(["--large", "--only", "pipeline1m"])
    assert args.large and not args.smoke and args.only == "pipeline1m"
    with pytest.raises(SystemExit):
        run.parse_args(["--help"])


def test_a_partial_run_keeps_out_of_a_full_runs_directory() -> None:
    assert run.Bench(large=False).var.name == "bench"
    assert run.Bench(large=True, only={"pipeline1m"}).var.name == "bench-large-only"
    assert run.Bench(large=False, smoke=True).var.name == "bench-smoke"
