"""Catalogues (Babel gettext: zh_CN first, en second) and the zh-CN formats of dates, times
and money. Message ids are English; every one has its zh_CN translation (a test checks).

The compiled .mo files are built by `make` (pybabel compile) and not committed; when one is
missing or older than its .po (an edit not compiled yet), the .po is compiled in memory."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from cobuild_kit.clock import BUSINESS_TZ

from cobuild_console.domain.money import yuan

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LOCALES = ("zh_CN", "en")
# How each locale names itself in the switch (in its own language, never translated).
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}

current_locale: ContextVar[str] = ContextVar("current_locale", default="zh_CN")


@cache
def translations(locale: str) -> NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return Translations(f, domain=DOMAIN)
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(message: str, **params: Any) -> str:
    text = translations(current_locale.get()).ugettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(current_locale.get()).ungettext(singular, plural, n)
    return text % {"num": n, **params}


_ = gettext


def pick_locale(wanted: str | None, default: str) -> str:
    return wanted if wanted in LOCALES else default


def _babel_locale() -> Locale:
    return Locale.parse(current_locale.get())


def money(fen: int) -> str:
    """¥1,234.50 in zh-CN, CN¥1,234.50 in English: always two decimals."""
    return format_currency(yuan(fen), "CNY", locale=_babel_locale())


def number(value: int) -> str:
    return format_decimal(value, locale=_babel_locale())


def day(value: date | str | None) -> str:
    """A business date: 2026年5月1日 in zh-CN."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return format_date(value, format="long", locale=_babel_locale())


def moment(value: datetime | str | None) -> str:
    """A timestamp shown in Asia/Shanghai, to the minute."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(BUSINESS_TZ)
    return format_datetime(
        local, format="yyyy-MM-dd HH:mm", tzinfo=BUSINESS_TZ, locale=_babel_locale()
    )


def template_globals() -> dict[str, Callable[..., str]]:
    return {"money": money, "number": number, "day": day, "moment": moment}


def raw_gettext(message: str) -> str:
    """For Jinja's newstyle gettext, which does the %-formatting (and escaping) itself."""
    return translations(current_locale.get()).ugettext(message)


def raw_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ungettext(singular, plural, n)
