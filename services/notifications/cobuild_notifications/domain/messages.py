"""The words of each notification, in zh-CN and English (Jinja2 templates kept here, so the
service renders what it sends): a one-line title for the inbox and a message's subject, a
body, and for mail a text and an HTML part with the link and the unsubscribe link."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jinja2 import Environment, StrictUndefined

from cobuild_notifications.domain.kinds import Kind

LANGUAGES = ("zh-CN", "en")

# kind -> language -> (title, body). Parameters come from the event (ids never shown).
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    Kind.REMINDER_DUE: {
        "zh-CN": ("任务「{{ title }}」还有 {{ days_left }} 天到期",
                  "任务「{{ title }}」的截止日期是 {{ deadline }}，还有 {{ days_left }} 天。"),
        "en": ("“{{ title }}” is due in {{ days_left }} days",
               "The task “{{ title }}” is due on {{ deadline }}, {{ days_left }} days from now."),
    },
    Kind.OVERDUE: {
        "zh-CN": ("任务「{{ title }}」已逾期",
                  "任务「{{ title }}」的截止日期 {{ deadline }} 已过，尚未完成确认。"),
        "en": ("“{{ title }}” is overdue",
               "The task “{{ title }}” passed its deadline of {{ deadline }} unconfirmed."),
    },
    Kind.DONE: {
        "zh-CN": ("任务「{{ title }}」已完成，待你方确认",
                  "履约方已将任务「{{ title }}」标记为完成，请核实后确认或说明理由退回。"),
        "en": ("“{{ title }}” is done and awaits your confirmation",
               "The obligor marked “{{ title }}” done: check it, then confirm or refuse it with a reason."),
    },
    Kind.CONFIRMED: {
        "zh-CN": ("任务「{{ title }}」已确认完成",
                  "受益方已确认任务「{{ title }}」完成{% if on_time == 'yes' %}，按期履约{% else %}，逾期完成{% endif %}。"),
        "en": ("“{{ title }}” was confirmed done",
               "The beneficiary confirmed “{{ title }}” as done{% if on_time == 'yes' %}, on time{% else %}, late{% endif %}."),
    },
    Kind.REFUSED: {
        "zh-CN": ("任务「{{ title }}」的完成未被确认",
                  "受益方未确认任务「{{ title }}」完成，理由：{{ reason }}"),
        "en": ("“{{ title }}” was not confirmed",
               "The beneficiary refused to confirm “{{ title }}”: {{ reason }}"),
    },
    Kind.CANCELLED: {
        "zh-CN": ("任务「{{ title }}」已取消", "任务「{{ title }}」已取消，理由：{{ reason }}"),
        "en": ("“{{ title }}” was cancelled", "The task “{{ title }}” was cancelled: {{ reason }}"),
    },
    Kind.ASSIGNED: {
        "zh-CN": ("你被安排参加任务「{{ title }}」",
                  "你被安排参加任务「{{ title }}」，截止日期 {{ deadline }}。"),
        "en": ("You are assigned to “{{ title }}”",
               "You are assigned to the task “{{ title }}”, due on {{ deadline }}."),
    },
    Kind.PROPOSAL: {
        "zh-CN": ("收到共建协议草案（第 {{ version }} 版）",
                  "对方提出了共建协议草案第 {{ version }} 版，共 {{ items }} 项，请查看并回应。"),
        "en": ("A draft agreement (version {{ version }}) awaits you",
               "The other side proposed version {{ version }} of a draft agreement with {{ items }} items."),
    },
    Kind.SIGNED: {
        "zh-CN": ("共建协议已签订",
                  "共建协议已签订，共 {{ items }} 项承诺，期限至 {{ term_end }}。"),
        "en": ("An agreement was signed",
               "An agreement with {{ items }} commitments was signed, running to {{ term_end }}."),
    },
    Kind.AMENDED: {
        "zh-CN": ("共建协议已变更",
                  "共建协议已变更：新增 {{ added }} 项，取消 {{ cancelled }} 项。理由：{{ reason }}"),
        "en": ("An agreement was amended",
               "An agreement was amended: {{ added }} items added, {{ cancelled }} cancelled. Reason: {{ reason }}"),
    },
    Kind.MATCH: {
        "zh-CN": ("需求有新的资源匹配建议", "一项需求有了新的资源匹配建议（第 {{ rank }} 位）。"),
        "en": ("A match was suggested", "A resource was suggested for a need (rank {{ rank }})."),
    },
    Kind.REPORT_ACCEPTED: {
        "zh-CN": ("报到成功", "你已到居住地社区报到，可以报名参加社区活动了。"),
        "en": ("You reported to your community",
               "Your report to the community where you live was accepted: you can sign up for its activities."),
    },
    Kind.REPORT_DECLINED: {
        "zh-CN": ("报到未通过", "你的报到申请未通过，理由：{{ reason }}。可向居住地社区重新申请报到。"),
        "en": ("Your report was declined",
               "Your request to report to the community was declined: {{ reason }}. You may ask again where you live."),
    },
    Kind.SIGN_UP: {
        "zh-CN": ("{% if step == 'confirmed' %}活动「{{ title }}」报名成功{% elif step == 'cancelled' %}活动「{{ title }}」的报名已取消{% else %}活动「{{ title }}」的服务时长已确认{% endif %}",
                  "{% if step == 'confirmed' %}{% if by == 'community' %}社区已为你报名{% else %}你已报名{% endif %}活动「{{ title }}」，名额已保留，活动开始时间 {{ starts_at }}。{% elif step == 'cancelled' %}{% if by == 'community' %}社区取消了你{% else %}你已取消{% endif %}活动「{{ title }}」（{{ starts_at }}）的报名，名额已释放。{% else %}社区确认了你参加活动「{{ title }}」的服务时长：{{ hours }} 小时。{% endif %}"),
        "en": ("{% if step == 'confirmed' %}You are signed up for “{{ title }}”{% elif step == 'cancelled' %}Your sign-up for “{{ title }}” was cancelled{% else %}Your hours at “{{ title }}” were confirmed{% endif %}",
               "{% if step == 'confirmed' %}{% if by == 'community' %}The community signed you up for{% else %}You signed up for{% endif %} “{{ title }}”: your place is held. It starts at {{ starts_at }}.{% elif step == 'cancelled' %}{% if by == 'community' %}The community cancelled{% else %}You cancelled{% endif %} your sign-up for “{{ title }}” ({{ starts_at }}); the place is free again.{% else %}The community confirmed your attendance at “{{ title }}”: {{ hours }} hours.{% endif %}"),
    },
    Kind.STREET: {
        "zh-CN": ("{% if item == 'need' %}街道新需求{% else %}街道新资源{% endif %}：{{ title }}",
                  "{{ place }}发布了{% if item == 'need' %}需求{% else %}资源{% endif %}「{{ title }}」。"),
        "en": ("New in your street: {% if item == 'need' %}a need{% else %}a resource{% endif %}, “{{ title }}”",
               "{{ place }} published the {% if item == 'need' %}need{% else %}resource{% endif %} “{{ title }}”."),
    },
    Kind.SCORED: {
        "zh-CN": ("{{ year }} 年度考评结果{% if state == 'publicised' %}公示{% endif %}",
                  "{{ year }} 年度考评：得分 {{ score }}，等次 {{ grade }}{% if state == 'publicised' %}（公示中，可提出异议）{% else %}（最终结果）{% endif %}。"),
        "en": ("Your {{ year }} assessment{% if state == 'publicised' %} for objections{% endif %}",
               "Your {{ year }} assessment: score {{ score }}, grade {{ grade }}{% if state == 'publicised' %} (open for objections){% else %} (final){% endif %}."),
    },
    Kind.ASSESSMENT: {
        "zh-CN": ("{{ year }} 年度考评{% if state == 'publicised' %}已公示{% else %}已定稿{% endif %}",
                  "{{ year }} 年度考评{% if state == 'publicised' %}已公示，异议期内可提出异议{% else %}结果已定稿{% endif %}。"),
        "en": ("The {{ year }} assessment is {% if state == 'publicised' %}published for objections{% else %}final{% endif %}",
               "The {{ year }} assessment is {% if state == 'publicised' %}published for objections{% else %}final{% endif %}."),
    },
    Kind.OBJECTION: {
        "zh-CN": ("{{ year }} 年度考评异议{% if outcome == 'upheld' %}已采纳{% else %}未被采纳{% endif %}",
                  "对 {{ year }} 年度考评提出的异议{% if outcome == 'upheld' %}已采纳，考评已更正。{% else %}经审核未被采纳，结果维持不变。{% endif %}"),
        "en": ("Your {{ year }} assessment objection was {% if outcome == 'upheld' %}upheld{% else %}rejected{% endif %}",
               "The objection to the {{ year }} assessment was {% if outcome == 'upheld' %}upheld and the assessment corrected{% else %}rejected: the result stands{% endif %}."),
    },
    Kind.WHISTLE: {
        "zh-CN": ("{% if step == 'routed' %}有新的吹哨事项待报到{% elif step == 'escalated' %}吹哨事项已超时上报{% else %}吹哨事项已办结{% endif %}",
                  "{% if step == 'routed' %}一件吹哨事项交由你方办理，请在 {{ due }} 前响应。{% elif step == 'escalated' %}一件吹哨事项超过时限（{{ due }}），已上报。{% else %}你方吹哨的事项已办结，请确认。{% endif %}"),
        "en": ("{% if step == 'routed' %}A whistle awaits your response{% elif step == 'escalated' %}A whistle was escalated{% else %}A whistle was resolved{% endif %}",
               "{% if step == 'routed' %}A whistle was routed to you: respond by {{ due }}.{% elif step == 'escalated' %}A whistle missed its limit ({{ due }}) and was escalated.{% else %}A matter you whistled was resolved: please confirm.{% endif %}"),
    },
    Kind.FOLLOWED: {
        "zh-CN": ("你关注的事项有新动态", "你关注的事项有新动态：{{ change }}"),
        "en": ("Something you follow changed", "Something you follow changed: {{ change }}"),
    },
}  # fmt: skip

_text = Environment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)
_html = Environment(autoescape=True, undefined=StrictUndefined)

_MAIL_HTML = _html.from_string(
    """<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ heading }}</title></head>
<body style="font-family:sans-serif;line-height:1.5">
{% for item in items %}<h2 style="font-size:1.1em">{{ item.title }}</h2><p>{{ item.body }}</p>
{% if item.link %}<p><a href="{{ item.link }}">{{ open_label }}</a></p>{% endif %}{% endfor %}
<hr><p style="font-size:.85em;color:#555"><a href="{{ unsubscribe }}">{{ unsubscribe_label }}</a></p>
</body></html>"""
)

_LABELS = {
    "zh-CN": {"open": "查看", "unsubscribe": "退订邮件通知", "digest": "今日通知汇总",
              "weekly": "本周通知汇总"},
    "en": {"open": "Open", "unsubscribe": "Unsubscribe from these e-mails",
           "digest": "Your notifications of the day", "weekly": "Your notifications of the week"},
}  # fmt: skip


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    link: str = ""


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def language(lang: str) -> str:
    return lang if lang in LANGUAGES else "zh-CN"


def render(kind: str, params: Mapping[str, str], lang: str, link: str = "") -> Rendered:
    """One notification's title and body in `lang` (zh-CN when unknown). A FOLLOWED item's
    `change` is the title of the change it follows."""
    lang = language(lang)
    values = dict(params)
    if kind == Kind.FOLLOWED and "of" in values:
        values["change"] = render(values["of"], values, lang).title
    title, body = TEMPLATES[kind][lang]
    return Rendered(
        _text.from_string(title).render(values), _text.from_string(body).render(values), link
    )


def mail(
    items: Sequence[Rendered], lang: str, unsubscribe: str, *, weekly: bool = False
) -> Message:
    """One mail: a single notification, or a digest of several (one message for them all)."""
    lang = language(lang)
    labels = _LABELS[lang]
    if len(items) == 1:
        subject = items[0].title
    else:
        subject = f"{labels['weekly' if weekly else 'digest']} ({len(items)})"
    lines: list[str] = []
    for item in items:
        lines += [item.title, item.body] + ([item.link] if item.link else []) + [""]
    lines += ["--", f"{labels['unsubscribe']}: {unsubscribe}"]
    html = _MAIL_HTML.render(
        lang=lang, heading=subject, items=items, open_label=labels["open"],
        unsubscribe=unsubscribe, unsubscribe_label=labels["unsubscribe"],
    )  # fmt: skip
    return Message(subject=subject, text="\n".join(lines), html=html)


def short(items: Sequence[Rendered], lang: str) -> str:
    """A text message (SMS, WeCom, DingTalk): titles only, one per line."""
    if len(items) == 1:
        return (
            f"{items[0].title}：{items[0].body}"
            if language(lang) == "zh-CN"
            else (f"{items[0].title}: {items[0].body}")
        )
    return "\n".join(i.title for i in items)
