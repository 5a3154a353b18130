"""One fault run, compared with the baseline: identical business state, invariants hold."""

from __future__ import annotations

from pathlib import Path

from faults_support import RESULTS, Fault, Outcome, compare, run_scenario, summarize


async def check_fault(root: Path, baseline: Outcome, fault: Fault) -> None:
    outcome = await run_scenario(root, fault)
    diffs = compare(baseline.snapshot, outcome.snapshot)
    RESULTS.append(summarize(outcome, diffs))
    shown = "\n".join(str(d) for d in diffs[:20])
    if diffs or outcome.invariants:  # the whole story, for whoever reads the failure
        lines = [str(d) for d in diffs] + [f"invariant: {p}" for p in outcome.invariants]
        (root / "differences.txt").write_text("\n".join(lines) + "\n")
        shown += f"\n(all of them in {root / 'differences.txt'})"
    assert not diffs, f"{len(diffs)} difference(s) from the undisturbed run:\n{shown}"
    assert not outcome.invariants, outcome.invariants
    assert outcome.http_5xx[500] == 0, outcome.http_5xx
