"""Resource use: each service's RSS per phase (sampled throughout the run), and its peak under
load against its RSS at rest."""

from __future__ import annotations

from cobuild_stack.launcher import SERVICES

from bench.report import Row
from bench.suite import Suite


def measure(s: Suite) -> None:
    lines = s.section("Resource use (RSS, MB)")
    phases = list(s.rss.peaks)
    lines.append("| phase | " + " | ".join(SERVICES) + " |")
    lines.append("|---|" + "---|" * len(SERVICES))
    for ph in phases:
        lines.append(
            f"| {ph} | " + " | ".join(f"{s.rss.peak(ph, svc):.0f}" for svc in SERVICES) + " |"
        )
    for svc in SERVICES:
        rest = s.rss.peak("rest", svc)
        peak = s.rss.overall_peak(svc)
        s.report.add(
            Row(
                f"RSS of {svc}: peak under load",
                peak,
                "MB",
                rest,
                "MB at rest",
                "≤ 300 MB",
                peak <= 300,
                "",
            )
        )
