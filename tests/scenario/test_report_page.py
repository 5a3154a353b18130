"""The report page of `make run` (report.html, issue 35): in Chinese with an English version a
link away, grouped by street (each street's communities, overdue commitments, whistles and
joint meetings in its own section), the developer's detail (topics, dead-letter topics, the
terminal's lines) only in an operator section at the end; report.json and the summary lines
as they were. In Debian's Chromium at 390 px nothing runs off the screen, and axe-core finds
no serious or critical violation; photographed at 390 and 1280 px into
var/screenshots/console/ (report-*)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cobuild_scenario import report, report_html

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "console"
CHROMIUM = Path("/usr/bin/chromium")
EAST, WEST = "东湖街道", "西山街道"


def _figures_of(signed: int, fulfilled: int, overdue: int, rate: str | None) -> dict[str, Any]:
    return {
        "signed": signed,
        "signed_fen": signed * 150_000,
        "fulfilled": fulfilled,
        "fulfilled_fen": fulfilled * 150_000,
        "due": signed,
        "on_time": fulfilled - 1,
        "overdue": overdue,
        "overdue_fen": overdue * 150_000,
        "flagged_overdue": overdue + 1,
        "cancelled": 0,
        "fulfilment_rate": rate,
        "fulfilment_rate_fen": rate,
        "on_time_rate": rate,
    }


def _whistles(raised: int) -> dict[str, Any]:
    return {
        "raised": raised,
        "response_due": raised,
        "responded_within_limit": raised - 1,
        "resolution_due": raised,
        "resolved_within_limit": raised - 2,
        "rated": raised,
        "satisfied": raised - 1,
        "response_rate": "0.9000",
        "completion_rate": "0.8000",
        "satisfaction_rate": "0.9500",
    }


def _snapshot(as_of: str, scale: int) -> dict[str, Any]:
    def community(name: str, n: int) -> dict[str, Any]:
        return {"name": name, **_figures_of(n * scale, n * scale - 1, 1, "0.8500")}

    east = [community("和平社区", 10), community("幸福社区", 8)]
    west = [community("阳光社区", 6)]
    return {
        "as_of": as_of,
        "district": _figures_of(24 * scale, 24 * scale - 3, 3, "0.8750"),
        "streets": [
            {
                "name": EAST,
                **_figures_of(18 * scale, 18 * scale - 2, 2, "0.8889"),
                "communities": east,
            },
            {"name": WEST, **_figures_of(6 * scale, 6 * scale - 1, 1, None), "communities": west},
        ],
    }


def figures() -> dict[str, Any]:
    """A district's year as report.build gives it: two streets, three communities."""
    overdue = [
        {
            "title": "老旧小区楼道照明修缮",
            "community": "和平社区",
            "unit": "区人民医院",
            "deadline": "2026-04-16",
            "status": "in_progress",
            "funds_fen": 500_000,
        },
        {
            "title": "为社区书屋配送新书",
            "community": "阳光社区",
            "unit": "区图书馆",
            "deadline": "2026-05-18",
            "status": "fulfilled",
            "funds_fen": 0,
        },
    ]
    meeting = {
        "number": 1,
        "held_on": "2026-03-02",
        "chair": "区人民医院",
        "present": 5,
        "decisions": 2,
    }
    alliance = {
        "name": "和平社区党建联盟",
        "host": "和平社区",
        "meetings": 1,
        "decisions": 2,
        "fulfilment": _figures_of(2, 2, 0, "1.0000"),
        "held": [meeting],
    }
    return {
        "fulfilment": {
            "mid_year": _snapshot("2026-06-30", 1),
            "year_end": _snapshot("2026-12-31", 2),
        },
        "overdue": {
            "flagged": 2,
            "still_open": 1,
            "fulfilled_late": 1,
            "by_community": {"和平社区": 1, "阳光社区": 1},
            "commitments": overdue,
        },
        "meetings": {
            "as_of": "2026-12-31",
            "district": _figures_of(2, 2, 0, "1.0000"),
            "alliances": [alliance],
        },
        "assessment": {
            "policy_version": "2026-v1",
            "totals": {
                "member_count": 10,
                "member_excellent_rate": "0.2000",
                "member_grades": {"excellent": 2, "good": 3, "pass": 3, "fail": 2},
                "unit_count": 2,
                "unit_excellent_rate": "0.5000",
                "unit_grades": {"excellent": 1, "good": 1, "pass": 0, "fail": 0},
            },
            "member_score_bands": {
                "fail <60": 2,
                "pass 60–75": 3,
                "good 75–90": 3,
                "excellent ≥90": 2,
            },
            "member_score_mean": "74.10",
            "member_scores": ["50.00", "92.00"],
            "top_units": [
                {"rank": 1, "unit": "区人民医院", "score": "93.20", "grade": "excellent"},
                {"rank": 2, "unit": "区图书馆", "score": "81.00", "grade": "good"},
            ],
        },
        "whistles": {
            key: {
                "as_of": as_of,
                "district": _whistles(9),
                "streets": [{"name": EAST, **_whistles(6)}, {"name": WEST, **_whistles(3)}],
                "departments": [{"name": "区住建局", **_whistles(4)}],
            }
            for key, as_of in (("mid_year", "2026-06-30"), ("year_end", "2026-12-31"))
        },
        "events": {
            "per_topic": {
                "agreements.events.v1": 120,
                "agreements.events.v1.dlq": 0,
                "points.events.v1": 300,
                "points.events.v1.dlq": 0,
            },
            "per_event_type": {"agreement.signed": 20, "points.awarded": 300},
            "total": 420,
        },
    }


class Outline(HTMLParser):
    """The page's section headings (h2) in order, and the text of each section."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.text: dict[str, str] = {}
        self._in_h2 = False
        self._before = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self._in_h2 = True
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False
            self.text[self.headings[-1]] = ""

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings[-1] += data
        elif self.headings:
            self.text[self.headings[-1]] = self.text.get(self.headings[-1], "") + data
        else:
            self._before += data


def _outline(page: str) -> Outline:
    outline = Outline()
    outline.feed(page)
    return outline


def test_the_report_is_in_chinese_grouped_by_street_with_the_operator_section_last() -> None:
    page = report.render_html(figures())
    assert '<html lang="zh-CN">' in page
    assert "<h1>2026 年度契约化共建工作报告</h1>" in page
    outline = _outline(page)
    assert outline.headings == [
        "全区概况",
        EAST,
        WEST,
        "年度考评",
        "职能部门吹哨报到",
        "运维信息（供系统管理员参考）",
    ]
    east, west = outline.text[EAST], outline.text[WEST]
    # Each street's section holds its own communities, overdue commitments and meetings.
    assert "和平社区" in east and "幸福社区" in east and "阳光社区" not in east
    assert "老旧小区楼道照明修缮" in east and "为社区书屋配送新书" not in east
    assert "和平社区党建联盟" in east and "第 1 次" in east
    assert "阳光社区" in west and "为社区书屋配送新书" in west and "逾期后已完成" in west
    assert "本街道没有党建联盟召开联席会议。" in west
    assert "全年发起 3 件" in west
    assert "暂无" in west  # a rate with no denominator
    # The developer's detail is in the operator section only, at the end.
    operator = outline.text["运维信息（供系统管理员参考）"]
    before = page.split('<section class="part operator"', 1)[0]
    for detail in (".events.v1", ".dlq", "events:", "policy 2026-v1"):
        assert detail not in before, detail
    assert "agreements.events.v1.dlq" in operator and "points.awarded" in operator
    assert "signed: 48 commitments" in operator  # the terminal's lines, as they are
    # No English sentence in the Chinese page before the operator section.
    prose = re.sub(r"<[^>]+>|2026-v1", " ", before.split("<main>", 1)[1])
    assert not re.search(r"[A-Za-z]{4,}", prose), re.findall(r"[A-Za-z]{4,}", prose)[:5]


def test_english_is_a_link_away_and_reads_the_same_sections() -> None:
    zh, en = report.render_html(figures()), report.render_html(figures(), "en")
    assert 'href="report.en.html"' in zh and 'href="report.html"' in en
    assert '<html lang="en">' in en
    assert _outline(en).headings == [
        "The district",
        EAST,
        WEST,
        "The year-end assessment",
        "Whistles answered by the departments",
        "For operators",
    ]


def test_the_files_keep_report_json_and_the_summary_lines(tmp_path: Path) -> None:
    f = figures()
    report.write_files(tmp_path, f, {"ledger.csv": b"x"})
    assert json.loads((tmp_path / "report.json").read_text()) == f
    assert {p.name for p in tmp_path.iterdir()} == {
        "report.json",
        "report.html",
        "report.en.html",
        "ledger.csv",
    }
    lines = report.summary_lines(f)
    assert lines[0] == "signed: 48 commitments, ¥72,000 of funds"
    assert lines[-1] == "events: 420 across 4 topics"
    assert report_html.FILES == {"zh": "report.html", "en": "report.en.html"}


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, str]:
    """report.html and report.en.html written, and axe-core's script."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing: apt-get install chromium fonts-noto-cjk")
    from cobuild_console.runtime import NODE_MODULES

    report.write_files(tmp_path, figures(), {})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return tmp_path, (NODE_MODULES / "axe-core" / "axe.min.js").read_text()


@pytest.mark.browser
async def test_the_report_fits_a_phone_and_passes_axe(written: tuple[Path, str]) -> None:
    from playwright.async_api import async_playwright

    folder, axe = written
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            for name in ("report.html", "report.en.html"):
                for width, height in ((390, 844), (1280, 900)):
                    page = await browser.new_page(viewport={"width": width, "height": height})
                    await page.goto((folder / name).as_uri())
                    # Open every folded list: what it shows must fit too.
                    await page.evaluate(
                        "() => document.querySelectorAll('details').forEach(d => d.open = true)"
                    )
                    wide = await page.evaluate(
                        "() => document.documentElement.scrollWidth - window.innerWidth"
                    )
                    assert wide <= 0, f"{name} at {width} px scrolls sideways by {wide} px"
                    stem = name.removesuffix(".html").replace(".", "-")
                    await page.screenshot(
                        path=str(SCREENSHOTS / f"{stem}-{width}.png"), full_page=True
                    )
                    await page.evaluate(axe + "\n;true")
                    found = await page.evaluate(
                        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa',"
                        " 'wcag21a', 'wcag21aa', 'best-practice']})).violations"
                        ".map(v => ({id: v.id, impact: v.impact,"
                        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
                    )
                    bad = [v for v in found if v["impact"] in ("serious", "critical")]
                    assert not bad, f"{name} at {width} px: {bad}"
                    await page.close()
        finally:
            await browser.close()
