"""The year's report as a page people read: `report.html` in Chinese and `report.en.html` in
English, each linking to the other (a static file: no script, no server).

It is for the district's and streets' secretaries, on a desk or a phone: the district first,
then one section per street (its communities' fulfilment with a chart and a table, its
overdue commitments, its whistles, its joint meetings), then the assessment and the
departments' whistles. What only an operator needs (the events per topic and type, the dead
letter topics, the terminal's summary lines) is a separate section at the end. Charts are
bars of HTML and CSS, as wide as the screen and no wider; tables become one card per row on
a narrow screen. Every figure is report.json's: this module only shows them."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

YEAR = 2026
LANGS = ("zh", "en")
FILES = {"zh": "report.html", "en": "report.en.html"}

# Every sentence of the page, in Chinese and English ({name} fields filled by `t`).
TEXT: dict[str, tuple[str, str]] = {
    "title": ("{year} 年度契约化共建工作报告", "Contract-style co-building: the year {year}"),
    "lead": (
        "本报告的数据全部由共建系统各项服务的查询接口读回，反映系统自身的统计结果；"
        "年中数据截至{mid}，年末数据截至{end}。",
        "Every figure here was read back from the co-building system's services: what the "
        "system itself counted, at mid-year ({mid}) and at year end ({end}).",
    ),
    "switch": ("English", "中文"),
    "contents": ("目录", "Contents"),
    "district": ("全区概况", "The district"),
    "street_section": ("{name}", "{name}"),
    "assessment": ("年度考评", "The year-end assessment"),
    "departments": ("职能部门吹哨报到", "Whistles answered by the departments"),
    "operator": ("运维信息（供系统管理员参考）", "For operators"),
    "signed_card": ("签订承诺", "Commitments signed"),
    "signed_big": ("{n} 项", "{n}"),
    "signed_value": ("承诺资金 {money}", "worth {money}"),
    "fulfilment_card": ("年末履约率", "Fulfilment rate at year end"),
    "by_value_card": ("按金额计 {value}", "{value} by value"),
    "on_time_card": ("按期履约率", "On-time rate"),
    "overdue_card": ("逾期承诺", "Overdue commitments"),
    "overdue_big": ("{n} 项", "{n}"),
    "overdue_value": (
        "其中 {late} 项已逾期完成，{open} 项年末仍未完成",
        "{late} fulfilled late, {open} still open at year end",
    ),
    "excellent_card": ("党员考评优秀率", "Members graded excellent"),
    "excellent_value": ("{n} 名党员参评，平均 {mean} 分", "{n} members scored, mean {mean}"),
    "whistle_card": ("吹哨报到", "Whistles"),
    "whistle_big": ("{n} 件", "{n} raised"),
    "whistle_value": (
        "响应率 {response}，办结率 {completion}，满意率 {satisfaction}",
        "response {response}, completion {completion}, satisfaction {satisfaction}",
    ),
    "by_count": ("按项数", "by count"),
    "by_value": ("按金额", "by value"),
    "streets_chart": ("各街道年末履约率", "Fulfilment rate of each street at year end"),
    "communities_chart": ("各社区年末履约率", "Fulfilment rate of each community at year end"),
    "district_table": ("全区年中、年末履约情况", "The district at mid-year and at year end"),
    "streets_table": ("各街道履约情况（截至{end}）", "Each street, as of {end}"),
    "communities_table": ("各社区履约情况（截至{end}）", "Each community, as of {end}"),
    "as_of": ("统计日期", "As of"),
    "street": ("街道", "Street"),
    "community": ("社区", "Community"),
    "signed": ("签订承诺", "Signed"),
    "funds": ("承诺资金", "Funds"),
    "fulfilled": ("已履约", "Fulfilled"),
    "rate_count": ("履约率（按项数）", "Fulfilment (count)"),
    "rate_value": ("履约率（按金额）", "Fulfilment (value)"),
    "mid_rate": ("年中履约率", "Mid-year rate"),
    "end_rate": ("年末履约率（按项数）", "Year-end rate (count)"),
    "end_rate_fen": ("年末履约率（按金额）", "Year-end rate (value)"),
    "on_time": ("按期履约率", "On-time rate"),
    "overdue": ("逾期未完成", "Overdue"),
    "street_lead": (
        "{communities} 个社区，签订承诺 {signed} 项、资金 {money}；年末履约率按项数 {count}，"
        "按金额 {value}；按期履约率 {on_time}；年末逾期未完成 {overdue} 项。",
        "{communities} communities; {signed} commitments worth {money}; year-end fulfilment "
        "{count} by count and {value} by value; on time {on_time}; {overdue} overdue at year "
        "end.",
    ),
    "overdue_title": ("逾期承诺", "Overdue commitments"),
    "overdue_none": ("本街道全年没有逾期承诺。", "No commitment of this street was overdue."),
    "overdue_summary": (
        "全年曾逾期 {n} 项（年末仍有 {open} 项未完成），点击查看明细",
        "{n} flagged overdue ({open} still open at year end): show them",
    ),
    "overdue_table": ("{name}逾期承诺明细", "Overdue commitments of {name}"),
    "deadline": ("完成时限", "Deadline"),
    "commitment": ("承诺事项", "Commitment"),
    "unit": ("共建单位", "Unit"),
    "status": ("年末状态", "At year end"),
    "whistles_title": ("吹哨报到", "Whistles"),
    "whistles_street": (
        "全年发起 {raised} 件：响应率 {response}（{responded}/{response_due}），"
        "办结率 {completion}（{resolved}/{resolution_due}），"
        "满意率 {satisfaction}（{satisfied}/{rated}）。",
        "{raised} raised in the year: response rate {response} ({responded} of "
        "{response_due}), completion rate {completion} ({resolved} of {resolution_due}), "
        "satisfaction rate {satisfaction} ({satisfied} of {rated}).",
    ),
    "whistles_none": ("本街道全年没有吹哨事项。", "No whistle was raised in this street."),
    "meetings_title": ("联席会议", "Joint meetings"),
    "meetings_none": (
        "本街道没有党建联盟召开联席会议。",
        "No alliance of this street held a joint meeting.",
    ),
    "alliance_lead": (
        "{host}牵头，全年召开 {meetings} 次会议，研究确定事项 {decisions} 项；"
        "事项履约率按项数 {count}、按金额 {value}（已履约 {fulfilled}/{signed}，逾期 {overdue} 项）。",
        "Hosted by {host}: {meetings} meetings, {decisions} decisions; decisions fulfilled "
        "{count} by count and {value} by value ({fulfilled} of {signed}, {overdue} overdue).",
    ),
    "meetings_summary": ("点击查看 {n} 次会议的明细", "Show the {n} meetings"),
    "meetings_table": ("{name}历次会议", "Meetings of {name}"),
    "meeting_no": ("会次", "Meeting"),
    "held_on": ("召开日期", "Held on"),
    "chair": ("轮值主席单位", "Chair"),
    "present": ("到会单位", "Units present"),
    "decisions": ("确定事项", "Decisions"),
    "meeting_number": ("第 {n} 次", "No. {n}"),
    "policy": (
        "考评办法版本：{policy}。党员 {members} 名，优秀率 {rate}，平均 {mean} 分；"
        "共建单位 {units} 个，优秀率 {unit_rate}。",
        "Policy version {policy}. {members} members scored, {rate} excellent, mean score "
        "{mean}; {units} units scored, {unit_rate} excellent.",
    ),
    "bands_chart": ("党员得分分布", "Members' scores"),
    "grades_table": ("考评等次分布", "Grades"),
    "grade": ("等次", "Grade"),
    "members": ("党员", "Members"),
    "units": ("共建单位", "Units"),
    "top_units": ("共建单位得分前十名", "The ten best-scored units"),
    "rank": ("名次", "Rank"),
    "score": ("得分", "Score"),
    "departments_table": (
        "各职能部门吹哨报到情况（截至{end}）",
        "Each department's whistles, as of {end}",
    ),
    "scope": ("范围", "Scope"),
    "whole_district": ("全区", "The district"),
    "raised": ("发起", "Raised"),
    "response": ("响应率", "Response rate"),
    "completion": ("办结率", "Completion rate"),
    "satisfaction": ("满意率", "Satisfaction rate"),
    "operator_lead": (
        "以下是系统运行的技术数据，供系统管理员核对，业务人员无须阅读。"
        "死信主题（.dlq）应为 0：不为 0 时说明有事件未能处理，请查看服务日志。",
        "The system's own figures, for checking a run. The dead-letter topics (.dlq) should "
        "hold nothing: any event there could not be applied; the services' logs say why.",
    ),
    "topics_table": ("各主题的事件数", "Events per topic"),
    "topic": ("主题", "Topic"),
    "events": ("事件数", "Events"),
    "total": ("合计", "Total"),
    "types_summary": ("点击查看按事件类型的统计（{n} 种）", "Events per type ({n} types)"),
    "types_table": ("各类型的事件数", "Events per type"),
    "event_type": ("事件类型", "Event type"),
    "summary_title": ("终端摘要", "The terminal's summary"),
    "summary_lead": (
        "与 make run 结束时终端打印的摘要相同（英文）。",
        "The lines make run prints at the end.",
    ),
    "files": (
        "同目录下另有 report.json（全部数据）和台账、考评的 CSV、Excel 导出文件。",
        "Next to this file: report.json (every figure) and the ledger's and assessment's "
        "exports as CSV and Excel.",
    ),
    "no_figure": ("暂无", "—"),
}
GRADES = {
    "excellent": ("优秀", "Excellent"),
    "good": ("良好", "Good"),
    "pass": ("合格", "Pass"),
    "fail": ("不合格", "Fail"),
}
BANDS = {
    "fail <60": ("不合格（60 分以下）", "Fail (under 60)"),
    "pass 60–75": ("合格（60–75 分）", "Pass (60–75)"),
    "good 75–90": ("良好（75–90 分）", "Good (75–90)"),
    "excellent ≥90": ("优秀（90 分及以上）", "Excellent (90 and over)"),
}
STATUS = {
    "opened": ("待认领", "Not claimed"),
    "claimed": ("已认领", "Claimed"),
    "in_progress": ("进行中", "In progress"),
    "done_pending_confirmation": ("已完成，待社区确认", "Done, awaiting confirmation"),
    "fulfilled": ("逾期后已完成", "Fulfilled late"),
    "cancelled": ("已取消", "Cancelled"),
}

STYLE = """
:root { --ink:#1a1a1a; --muted:#444; --line:#c9c9c9; --paper:#fff; --wash:#f5f2ed;
  --brand:#8c1515; --s0:#a61b1b; --s1:#1f5f99; --link:#0b4a8b; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 17px/1.6 system-ui, -apple-system, "PingFang SC", "Noto Sans CJK SC",
  "Microsoft YaHei", sans-serif; color: var(--ink); background: var(--wash); overflow-wrap: anywhere; }
a { color: var(--link); }
:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
header.top { background: var(--brand); color: #fff; padding: 12px 16px; }
header.top > div { max-width: 60rem; margin: 0 auto; }
header.top h1 { margin: 0; font-size: 1.4rem; line-height: 1.35; }
header.top a { color: #fff; display: inline-block; min-height: 44px; padding: 10px 0; }
main { max-width: 64rem; margin: 0 auto; padding: 8px 16px 32px; }
p { margin: 0 0 0.8em; }
.lead { color: var(--muted); }
nav.toc ol { padding-left: 1.4em; margin: 0; columns: 2 12rem; }
nav.toc a { display: inline-block; min-height: 40px; padding: 6px 0; }
section.part { background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
  padding: 16px; margin: 16px 0; }
section.part > h2 { margin: 0 0 8px; font-size: 1.3rem; }
section.operator { background: #eceff1; }
h3 { font-size: 1.1rem; margin: 20px 0 8px; }
.cards { list-style: none; padding: 0; margin: 0 0 12px; display: grid; gap: 8px;
  grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); }
.cards li { background: var(--wash); border-radius: 8px; padding: 10px 12px; }
.cards strong { display: block; font-size: 0.95rem; color: var(--muted); font-weight: 600; }
.cards .big { display: block; font-size: 1.5rem; font-weight: 700; line-height: 1.3; }
figure.chart { margin: 12px 0; }
figure.chart figcaption { font-weight: 700; margin-bottom: 6px; }
.legend { list-style: none; padding: 0; margin: 0 0 8px; display: flex; gap: 16px; flex-wrap: wrap;
  font-size: 0.9rem; }
.key { display: inline-block; width: 14px; height: 14px; margin-right: 6px; vertical-align: -2px; }
.key.s0, .bar.s0 > span { background: var(--s0); }
.key.s1, .bar.s1 > span { background: var(--s1); }
.bars { list-style: none; padding: 0; margin: 0; }
.bars li { display: grid; grid-template-columns: minmax(0, 1fr) 4.5em; gap: 2px 8px;
  align-items: center; padding: 4px 0; border-bottom: 1px solid #eee; }
.bars .name { grid-column: 1 / -1; font-size: 0.95rem; }
.bar { display: block; height: 12px; background: #eee; border-radius: 3px; overflow: hidden; }
.bar > span { display: block; height: 100%; }
.val { font-size: 0.85rem; font-variant-numeric: tabular-nums; text-align: right; }
.cols { display: flex; gap: 8px; align-items: flex-end; height: 200px; margin: 8px 0; }
.col { flex: 1; display: flex; flex-direction: column; justify-content: flex-end; height: 100%;
  text-align: center; min-width: 0; }
.col .n { font-weight: 700; font-variant-numeric: tabular-nums; }
.col .colbar { display: block; background: #2f7d4a; border-radius: 3px 3px 0 0; min-height: 2px; }
.col .lab { font-size: 0.8rem; line-height: 1.3; min-height: 3.9em; padding-top: 4px; }
.table-wrap { max-width: 100%; overflow-x: auto; }
table { width: 100%; border-collapse: collapse; margin: 8px 0; }
caption { text-align: left; font-weight: 700; padding: 4px 0 8px; }
thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
tr { display: block; border: 1px solid var(--line); border-radius: 8px; margin: 0 0 8px;
  padding: 6px 10px; background: var(--paper); }
th, td { display: block; text-align: left; padding: 1px 0; }
td { display: inline-block; margin-right: 0.9em; }
td[data-label]::before { content: attr(data-label) "："; color: var(--muted); }
table.plain thead { position: static; width: auto; height: auto; overflow: visible; clip-path: none;
  display: table-header-group; }
table.plain tr { display: table-row; border: 0; border-bottom: 1px solid var(--line); margin: 0;
  padding: 0; }
table.plain th, table.plain td { display: table-cell; padding: 6px 6px; margin: 0; vertical-align: top; }
table.plain thead th { border-bottom: 2px solid var(--line); background: var(--wash); }
table.plain td[data-label]::before { content: none; }
table.plain td.num, table.plain th.num { text-align: right; font-variant-numeric: tabular-nums; }
html[lang="en"] td[data-label]::before { content: attr(data-label) ": "; }
tr.sum { background: var(--wash); font-weight: 700; }
details { margin: 8px 0; }
summary { cursor: pointer; min-height: 44px; padding: 10px 0; color: var(--link); }
.lines { font-family: ui-monospace, monospace; font-size: 0.85rem; padding-left: 1.2em; }
.warn { color: #8a1010; font-weight: 700; }
@media (min-width: 48rem) {
  main { padding: 8px 32px 40px; }
  header.top { padding: 16px 32px; }
  .cards { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  th[scope="row"], td.num { white-space: nowrap; }
  header.top h1 { font-size: 1.7rem; }
  .bars li { grid-template-columns: 11em minmax(0, 1fr) 4.5em; }
  .bars .name { grid-column: 1; grid-row: span 2; }
  .bars .bar, .bars .val { grid-column: auto; }
  thead { position: static; width: auto; height: auto; overflow: visible; clip-path: none;
    display: table-header-group; }
  tr { display: table-row; border: 0; border-bottom: 1px solid var(--line); margin: 0; padding: 0; }
  th, td { display: table-cell; padding: 6px 8px; margin: 0; vertical-align: top; }
  thead th { border-bottom: 2px solid var(--line); background: var(--wash); }
  td[data-label]::before, html[lang="en"] td[data-label]::before { content: none; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
}
@media print { header.top a, nav.toc { display: none; } section.part { break-inside: avoid-page; } }
"""


class Page:
    """One language's words and formats."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.i = LANGS.index(lang)

    def t(self, key: str, **fields: Any) -> str:
        return html.escape(TEXT[key][self.i].format(**fields))

    def pick(self, table: dict[str, tuple[str, str]], code: str) -> str:
        return html.escape(table[code][self.i] if code in table else code)

    def pct(self, rate: str | None) -> str:
        if rate is None:
            return self.t("no_figure")
        return f"{Decimal(rate) * 100:.1f}%"

    def num(self, n: int) -> str:
        return f"{n:,}"

    def money(self, fen: int) -> str:
        return f"¥{fen / 100:,.0f}"

    def day(self, iso: str) -> str:
        d = date.fromisoformat(iso)
        return f"{d.year}年{d.month}月{d.day}日" if self.lang == "zh" else d.strftime("%-d %B %Y")


def _e(text: str) -> str:
    return html.escape(text)


def _table(
    p: Page,
    caption: str,
    head: Sequence[tuple[str, bool]],
    rows: Iterable[Sequence[str]],
    *,
    sums: Sequence[str] | None = None,
    plain: bool = False,
) -> str:
    """A table whose first column heads each row; `head` is (label, numeric) per column. The
    cells are HTML already escaped. On a phone each row is a card, each cell labelled."""

    def row(cells: Sequence[str], cls: str = "") -> str:
        first, *rest = cells
        out = f'<tr{f" class={cls!r}" if cls else ""}><th scope="row">{first}</th>'
        for (label, numeric), cell in zip(head[1:], rest, strict=True):
            num = ' class="num"' if numeric else ""
            out += f'<td data-label="{label}"{num}>{cell}</td>'
        return out + "</tr>"

    thead = "".join(
        f'<th scope="col"{" class=num" if numeric else ""}>{label}</th>' for label, numeric in head
    )
    body = "".join(row(r) for r in rows)
    if sums is not None:
        body += row(sums, "sum")
    return (
        f'<div class="table-wrap"><table{" class=plain" if plain else ""}>'
        f"<caption>{caption}</caption>"
        f"<thead><tr>{thead}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _bars(p: Page, caption: str, rows: Sequence[tuple[str, Sequence[str | None]]]) -> str:
    """Paired horizontal bars (by count, by value) of rates 0..1, one row per scope, each with
    its figure written beside it: as wide as the screen, readable without the bars."""
    series = (p.t("by_count"), p.t("by_value"))
    legend = "".join(
        f'<li><span class="key s{i}" aria-hidden="true"></span>{name}</li>'
        for i, name in enumerate(series)
    )
    items = []
    for label, rates in rows:
        cells = "".join(
            f'<span class="bar s{i}" aria-hidden="true"><span style="width:'
            f'{0 if r is None else float(Decimal(r) * 100):.1f}%"></span></span>'
            f'<span class="val"><span class="visually-hidden">{series[i]} </span>{p.pct(r)}</span>'
            for i, r in enumerate(rates)
        )
        items.append(f'<li><span class="name">{_e(label)}</span>{cells}</li>')
    return (
        f'<figure class="chart"><figcaption>{caption}</figcaption>'
        f'<ul class="legend" aria-hidden="true">{legend}</ul>'
        f'<ol class="bars">{"".join(items)}</ol></figure>'
    )


def _columns(p: Page, caption: str, bands: dict[str, int]) -> str:
    peak = max(bands.values(), default=0) or 1
    cols = "".join(
        f'<li class="col"><span class="n">{p.num(n)}</span>'
        f'<span class="colbar" style="height:{75 * n / peak:.1f}%"></span>'
        f'<span class="lab">{p.pick(BANDS, label)}</span></li>'
        for label, n in _ordered_bands(bands)
    )
    return (
        f'<figure class="chart"><figcaption>{caption}</figcaption>'
        f'<ol class="cols" role="list">{cols}</ol></figure>'
    )


def _ordered_bands(bands: dict[str, int]) -> list[tuple[str, int]]:
    order = list(BANDS)
    return sorted(bands.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)


def _card(title: str, big: str, small: str = "") -> str:
    return f'<li><strong>{title}</strong><span class="big">{big}</span>{small}</li>'


def _street_of(figures: dict[str, Any]) -> dict[str, str]:
    """Each community's (and street's) street, by name."""
    out: dict[str, str] = {}
    for s in figures["fulfilment"]["year_end"]["streets"]:
        out[s["name"]] = s["name"]
        for c in s["communities"]:
            out[c["name"]] = s["name"]
    return out


def _district(p: Page, f: dict[str, Any]) -> str:
    mid, end = f["fulfilment"]["mid_year"], f["fulfilment"]["year_end"]
    d, o, a = end["district"], f["overdue"], f["assessment"]
    w = f["whistles"]["year_end"]["district"]
    cards = "".join(
        [
            _card(
                p.t("signed_card"),
                p.t("signed_big", n=p.num(d["signed"])),
                p.t("signed_value", money=p.money(d["signed_fen"])),
            ),
            _card(
                p.t("fulfilment_card"),
                p.pct(d["fulfilment_rate"]),
                p.t("by_value_card", value=p.pct(d["fulfilment_rate_fen"])),
            ),
            _card(p.t("on_time_card"), p.pct(d["on_time_rate"])),
            _card(
                p.t("overdue_card"),
                p.t("overdue_big", n=p.num(o["flagged"])),
                p.t("overdue_value", late=p.num(o["fulfilled_late"]), open=p.num(o["still_open"])),
            ),
            _card(
                p.t("excellent_card"),
                p.pct(a["totals"]["member_excellent_rate"]),
                p.t(
                    "excellent_value",
                    n=p.num(a["totals"]["member_count"]),
                    mean=a["member_score_mean"],
                ),
            ),
            _card(
                p.t("whistle_card"),
                p.t("whistle_big", n=p.num(w["raised"])),
                p.t(
                    "whistle_value",
                    response=p.pct(w["response_rate"]),
                    completion=p.pct(w["completion_rate"]),
                    satisfaction=p.pct(w["satisfaction_rate"]),
                ),
            ),
        ]
    )
    head = [
        (p.t("as_of"), False),
        (p.t("signed"), True),
        (p.t("fulfilled"), True),
        (p.t("rate_count"), True),
        (p.t("rate_value"), True),
        (p.t("on_time"), True),
        (p.t("overdue"), True),
    ]
    snapshot_rows = [
        [
            p.day(s["as_of"]),
            p.num(s["district"]["signed"]),
            p.num(s["district"]["fulfilled"]),
            p.pct(s["district"]["fulfilment_rate"]),
            p.pct(s["district"]["fulfilment_rate_fen"]),
            p.pct(s["district"]["on_time_rate"]),
            p.num(s["district"]["overdue"]),
        ]
        for s in (mid, end)
    ]
    streets = [
        (s["name"], (s["fulfilment_rate"], s["fulfilment_rate_fen"])) for s in end["streets"]
    ]
    return (
        f'<section class="part" id="district" aria-labelledby="district-h">'
        f'<h2 id="district-h">{p.t("district")}</h2>'
        f'<ul class="cards">{cards}</ul>'
        + _table(p, p.t("district_table"), head, snapshot_rows)
        + (_bars(p, p.t("streets_chart"), streets) if len(streets) > 1 else "")
        + _streets_table(p, f)
        + "</section>"
    )


def _rate_head(p: Page, first: str) -> list[tuple[str, bool]]:
    return [
        (first, False),
        (p.t("signed"), True),
        (p.t("funds"), True),
        (p.t("mid_rate"), True),
        (p.t("end_rate"), True),
        (p.t("end_rate_fen"), True),
        (p.t("on_time"), True),
        (p.t("overdue"), True),
    ]


def _rate_row(p: Page, name: str, mid: dict[str, Any], end: dict[str, Any]) -> list[str]:
    return [
        name,
        p.num(end["signed"]),
        p.money(end["signed_fen"]),
        p.pct(mid["fulfilment_rate"]),
        p.pct(end["fulfilment_rate"]),
        p.pct(end["fulfilment_rate_fen"]),
        p.pct(end["on_time_rate"]),
        p.num(end["overdue"]),
    ]


def _streets_table(p: Page, f: dict[str, Any]) -> str:
    mid, end = f["fulfilment"]["mid_year"], f["fulfilment"]["year_end"]
    mids = {s["name"]: s for s in mid["streets"]}
    rows = [
        _rate_row(p, f'<a href="#{_anchor(i)}">{_e(s["name"])}</a>', mids.get(s["name"], s), s)
        for i, s in enumerate(end["streets"])
    ]
    total = _rate_row(p, p.t("whole_district"), mid["district"], end["district"])
    return _table(
        p,
        p.t("streets_table", end=p.day(end["as_of"])),
        _rate_head(p, p.t("street")),
        rows,
        sums=total,
    )


def _anchor(i: int) -> str:
    return f"street-{i + 1}"


def _street(p: Page, f: dict[str, Any], i: int, street: dict[str, Any]) -> str:
    name = street["name"]
    mid = next((s for s in f["fulfilment"]["mid_year"]["streets"] if s["name"] == name), street)
    mid_c = {c["name"]: c for c in mid["communities"]}
    where = _street_of(f)
    communities = street["communities"]
    lead = p.t(
        "street_lead",
        communities=p.num(len(communities)),
        signed=p.num(street["signed"]),
        money=p.money(street["signed_fen"]),
        count=p.pct(street["fulfilment_rate"]),
        value=p.pct(street["fulfilment_rate_fen"]),
        on_time=p.pct(street["on_time_rate"]),
        overdue=p.num(street["overdue"]),
    )
    chart = _bars(
        p,
        p.t("communities_chart"),
        [(c["name"], (c["fulfilment_rate"], c["fulfilment_rate_fen"])) for c in communities],
    )
    table = _table(
        p,
        p.t("communities_table", end=p.day(f["fulfilment"]["year_end"]["as_of"])),
        _rate_head(p, p.t("community")),
        [_rate_row(p, _e(c["name"]), mid_c.get(c["name"], c), c) for c in communities],
        sums=_rate_row(p, _e(name), mid, street),
    )
    late = [c for c in f["overdue"]["commitments"] if where.get(c["community"]) == name]
    if late:
        still = sum(1 for c in late if c["status"] != "fulfilled")
        overdue = (
            f"<details><summary>{p.t('overdue_summary', n=p.num(len(late)), open=p.num(still))}"
            "</summary>"
            + _table(
                p,
                p.t("overdue_table", name=name),
                [
                    (p.t("commitment"), False),
                    (p.t("community"), False),
                    (p.t("unit"), False),
                    (p.t("deadline"), False),
                    (p.t("funds"), True),
                    (p.t("status"), False),
                ],
                [
                    [
                        _e(c["title"]),
                        _e(c["community"]),
                        _e(c["unit"]),
                        p.day(c["deadline"]),
                        p.money(c["funds_fen"]),
                        p.pick(STATUS, c["status"]),
                    ]
                    for c in late
                ],
            )
            + "</details>"
        )
    else:
        overdue = f"<p>{p.t('overdue_none')}</p>"
    whistle = next((s for s in f["whistles"]["year_end"]["streets"] if s["name"] == name), None)
    whistles = (
        f"<p>{_whistle_sentence(p, whistle)}</p>"
        if whistle and whistle["raised"]
        else f"<p>{p.t('whistles_none')}</p>"
    )
    alliances = [a for a in f["meetings"]["alliances"] if where.get(a["host"]) == name]
    meetings = "".join(_alliance(p, a) for a in alliances) or f"<p>{p.t('meetings_none')}</p>"
    return (
        f'<section class="part" id="{_anchor(i)}" aria-labelledby="{_anchor(i)}-h">'
        f'<h2 id="{_anchor(i)}-h">{_e(name)}</h2><p>{lead}</p>{chart}{table}'
        f"<h3>{p.t('overdue_title')}</h3>{overdue}"
        f"<h3>{p.t('whistles_title')}</h3>{whistles}"
        f"<h3>{p.t('meetings_title')}</h3>{meetings}</section>"
    )


def _whistle_sentence(p: Page, w: dict[str, Any]) -> str:
    return p.t(
        "whistles_street",
        raised=p.num(w["raised"]),
        response=p.pct(w["response_rate"]),
        responded=p.num(w["responded_within_limit"]),
        response_due=p.num(w["response_due"]),
        completion=p.pct(w["completion_rate"]),
        resolved=p.num(w["resolved_within_limit"]),
        resolution_due=p.num(w["resolution_due"]),
        satisfaction=p.pct(w["satisfaction_rate"]),
        satisfied=p.num(w["satisfied"]),
        rated=p.num(w["rated"]),
    )


def _alliance(p: Page, a: dict[str, Any]) -> str:
    f = a["fulfilment"]
    lead = p.t(
        "alliance_lead",
        host=a["host"],
        meetings=p.num(a["meetings"]),
        decisions=p.num(a["decisions"]),
        count=p.pct(f["fulfilment_rate"]),
        value=p.pct(f["fulfilment_rate_fen"]),
        fulfilled=p.num(f["fulfilled"]),
        signed=p.num(f["signed"]),
        overdue=p.num(f["overdue"]),
    )
    held = _table(
        p,
        p.t("meetings_table", name=a["name"]),
        [
            (p.t("meeting_no"), False),
            (p.t("held_on"), False),
            (p.t("chair"), False),
            (p.t("present"), True),
            (p.t("decisions"), True),
        ],
        [
            [
                p.t("meeting_number", n=m["number"]),
                p.day(m["held_on"]),
                _e(m["chair"]),
                p.num(m["present"]),
                p.num(m["decisions"]),
            ]
            for m in a["held"]
        ],
    )
    summary = p.t("meetings_summary", n=p.num(len(a["held"])))
    return (
        f"<h4>{_e(a['name'])}</h4><p>{lead}</p>"
        f"<details><summary>{summary}</summary>{held}</details>"
    )


def _assessment(p: Page, f: dict[str, Any]) -> str:
    a = f["assessment"]
    totals = a["totals"]
    lead = p.t(
        "policy",
        policy=a["policy_version"],
        members=p.num(totals["member_count"]),
        rate=p.pct(totals["member_excellent_rate"]),
        mean=a["member_score_mean"],
        units=p.num(totals["unit_count"]),
        unit_rate=p.pct(totals["unit_excellent_rate"]),
    )
    grades = _table(
        p,
        p.t("grades_table"),
        [(p.t("grade"), False), (p.t("members"), True), (p.t("units"), True)],
        [
            [
                p.pick(GRADES, g),
                p.num(totals["member_grades"].get(g, 0)),
                p.num(totals["unit_grades"].get(g, 0)),
            ]
            for g in GRADES
        ],
        plain=True,
    )
    top = _table(
        p,
        p.t("top_units"),
        [(p.t("unit"), False), (p.t("rank"), True), (p.t("score"), True), (p.t("grade"), False)],
        [
            [_e(u["unit"]), p.num(u["rank"]), _e(u["score"]), p.pick(GRADES, u["grade"])]
            for u in a["top_units"]
        ],
        plain=True,
    )
    return (
        '<section class="part" id="assessment" aria-labelledby="assessment-h">'
        f'<h2 id="assessment-h">{p.t("assessment")}</h2><p>{lead}</p>'
        + _columns(p, p.t("bands_chart"), a["member_score_bands"])
        + grades
        + top
        + "</section>"
    )


def _departments(p: Page, f: dict[str, Any]) -> str:
    end = f["whistles"]["year_end"]

    def row(name: str, w: dict[str, Any]) -> list[str]:
        return [
            name,
            p.num(w["raised"]),
            p.pct(w["response_rate"]),
            p.pct(w["completion_rate"]),
            p.pct(w["satisfaction_rate"]),
        ]

    table = _table(
        p,
        p.t("departments_table", end=p.day(end["as_of"])),
        [
            (p.t("scope"), False),
            (p.t("raised"), True),
            (p.t("response"), True),
            (p.t("completion"), True),
            (p.t("satisfaction"), True),
        ],
        [row(_e(d["name"]), d) for d in end["departments"]],
        sums=row(p.t("whole_district"), end["district"]),
    )
    return (
        '<section class="part" id="departments" aria-labelledby="departments-h">'
        f'<h2 id="departments-h">{p.t("departments")}</h2>'
        f"<p>{_whistle_sentence(p, end['district'])}</p>{table}</section>"
    )


def _operator(p: Page, f: dict[str, Any], lines: Sequence[str]) -> str:
    ev = f["events"]
    topics = _table(
        p,
        p.t("topics_table"),
        [(p.t("topic"), False), (p.t("events"), True)],
        [
            [
                f"<code>{_e(t)}</code>",
                f'<span class="warn">{p.num(n)}</span>' if t.endswith(".dlq") and n else p.num(n),
            ]
            for t, n in ev["per_topic"].items()
        ],
        sums=[p.t("total"), p.num(ev["total"])],
        plain=True,
    )
    types = _table(
        p,
        p.t("types_table"),
        [(p.t("event_type"), False), (p.t("events"), True)],
        [[f"<code>{_e(k)}</code>", p.num(n)] for k, n in ev["per_event_type"].items()],
        plain=True,
    )
    summary = "".join(f"<li>{_e(line)}</li>" for line in lines)
    return (
        '<section class="part operator" id="operator" aria-labelledby="operator-h">'
        f'<h2 id="operator-h">{p.t("operator")}</h2><p>{p.t("operator_lead")}</p>{topics}'
        f"<details><summary>{p.t('types_summary', n=p.num(len(ev['per_event_type'])))}"
        f"</summary>{types}</details>"
        f"<h3>{p.t('summary_title')}</h3><p>{p.t('summary_lead')}</p>"
        f'<ul class="lines" lang="en">{summary}</ul><p>{p.t("files")}</p></section>'
    )


def render(
    figures: dict[str, Any], lang: str = "zh", *, summary: Callable[[dict[str, Any]], list[str]]
) -> str:
    """The report page in `lang` ("zh" or "en"); `summary` gives the terminal's lines."""
    p = Page(lang)
    end = figures["fulfilment"]["year_end"]
    streets = end["streets"]
    other = LANGS[1 - p.i]
    toc = [("district", p.t("district"))]
    toc += [(_anchor(i), _e(s["name"])) for i, s in enumerate(streets)]
    toc += [
        ("assessment", p.t("assessment")),
        ("departments", p.t("departments")),
        ("operator", p.t("operator")),
    ]
    contents = "".join(f'<li><a href="#{anchor}">{label}</a></li>' for anchor, label in toc)
    body = (
        _district(p, figures)
        + "".join(_street(p, figures, i, s) for i, s in enumerate(streets))
        + _assessment(p, figures)
        + _departments(p, figures)
        + _operator(p, figures, summary(figures))
    )
    html_lang = "zh-CN" if lang == "zh" else "en"
    other_lang = "en" if lang == "zh" else "zh-CN"
    return f"""<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{p.t("title", year=YEAR)}</title>
<style>{STYLE}.visually-hidden {{ position: absolute; width: 1px; height: 1px; overflow: hidden;
clip-path: inset(50%); white-space: nowrap; }}</style></head><body>
<header class="top"><div><h1>{p.t("title", year=YEAR)}</h1>
<a href="{FILES[other]}" hreflang="{other_lang}" lang="{other_lang}">{p.t("switch")}</a></div></header>
<main>
<p class="lead">{p.t("lead", mid=p.day(figures["fulfilment"]["mid_year"]["as_of"]), end=p.day(end["as_of"]))}</p>
<nav class="toc" aria-label="{p.t("contents")}"><ol>{contents}</ol></nav>
{body}
</main></body></html>
"""
