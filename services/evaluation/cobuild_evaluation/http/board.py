"""The public board's page (上墙公示): server-rendered HTML, no personal data.

Shows a street's or community's fulfilment rates with an inline SVG bar chart, its signed
agreements (parties are organisations), the year's honour roll of units, and a link to the
points service's member honour roll (names stay in points: ARCHITECTURE.md, "Personal
data")."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from cobuild_evaluation.usecases.board import Board


def percent(rate: str | None) -> str:
    if rate is None:
        return "—"
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.01'))}%"


def chart(bars: list[tuple[str, str | None]]) -> str:
    """Horizontal bars, one per row; a null rate draws no bar and says so."""
    width, bar_h, gap, label_w = 320, 22, 8, 180
    height = max(1, len(bars)) * (bar_h + gap)
    parts = [
        f'<svg id="rate-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="fulfilment rate by {"community" if bars else "scope"}" '
        f'width="{label_w + width + 80}" height="{height}">'
    ]
    for i, (label, rate) in enumerate(bars):
        y = i * (bar_h + gap)
        w = 0 if rate is None else int(Decimal(rate) * width)
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="13">{escape(label[:24])}</text>'
            f'<rect class="bar" data-rate="{rate or ""}" x="{label_w}" y="{y}" width="{w}" '
            f'height="{bar_h}" fill="#c0392b"></rect>'
            f'<text x="{label_w + w + 6}" y="{y + 15}" font-size="13">{percent(rate)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render(b: Board) -> str:
    f = b.figures
    kind_cn = "街道" if b.kind == "street" else "社区"
    summary = f"""
<table class="figures">
<tr><th>履约率 Fulfilment rate</th><td id="fulfilment-rate">{percent(f["fulfilment_rate"])}</td>
    <th>按资金 By value</th><td id="fulfilment-rate-fen">{percent(f["fulfilment_rate_fen"])}</td></tr>
<tr><th>按期率 On-time rate</th><td id="on-time-rate">{percent(f["on_time_rate"])}</td>
    <th>按资金 By value</th><td>{percent(f["on_time_rate_fen"])}</td></tr>
<tr><th>承诺 Signed</th><td id="signed">{f["signed"]}</td><th>已履约 Fulfilled</th><td id="fulfilled">{f["fulfilled"]}</td></tr>
<tr><th>逾期 Overdue</th><td id="overdue">{f["overdue"]}</td><th>已取消 Cancelled</th><td>{f["cancelled"]}</td></tr>
</table>"""
    agreements = "".join(
        f"<tr><td><code>{escape(a['agreement_id'])}</code></td><td>{escape(a['community'])}</td>"
        f"<td>{escape(a['unit'])}</td><td>{a['commitments']}</td><td>{escape(a['term'])}</td></tr>"
        for a in b.agreements
    )
    honour = (
        "".join(
            f"<li>{escape(u['name'])} — {escape(u['score'])} ({escape(u['grade'])})</li>"
            for u in b.honour_units
        )
        or (
            "<li>尚未公布 Not published yet</li>"
            if b.year is None
            else "<li>本年度无 None this year</li>"
        )
    )
    links = "".join(
        f'<li><a href="{escape(url)}">{escape(name)} 党员光荣榜 member honour roll</a></li>'
        for name, url in b.member_roll_links
    )
    year = "" if b.year is None else f" {b.year}"
    if b.state == "publicised":
        standing = (
            f'<p id="assessment-state" class="publicised"><strong>公示中 Open for objections</strong>'
            f" · 异议截止 objections until <time>{escape(b.objection_deadline or '')}</time></p>"
        )
    elif b.state == "final":
        standing = '<p id="assessment-state" class="final"><strong>已定档 Final</strong></p>'
    else:
        standing = ""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(b.name)} · 共建公示</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head>
<body>
<h1>{escape(b.name)} <small>{kind_cn} · 契约化共建公示</small></h1>
<p>截至 As of <time>{escape(b.as_of)}</time></p>
<section id="rates"><h2>履约情况 Fulfilment</h2>{summary}
<figure>{chart(b.bars)}<figcaption>履约率 Fulfilment rate by {"community" if b.kind == "street" else "agreement"}</figcaption></figure>
</section>
<section id="agreements"><h2>已签协议 Signed agreements ({len(b.agreements)})</h2>
<table><tr><th>协议 Agreement</th><th>社区 Community</th><th>共建单位 Unit</th><th>承诺 Commitments</th><th>期限 Term</th></tr>
{agreements}</table></section>
<section id="honour-roll"><h2>{year} 优秀共建单位 Honour roll of units</h2>{standing}<ul>{honour}</ul>
<ul>{links}</ul></section>
</body></html>"""
