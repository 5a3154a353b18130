"""How a member's name shows in public: surname plus `*`, unless they opted in."""

from __future__ import annotations

# Common two-character (compound) surnames; anything else is a one-character surname.
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "令狐",
        "慕容",
        "司徒",
        "夏侯",
        "尉迟",
        "公孙",
        "长孙",
        "宇文",
        "端木",
    }
)


def public_name(name: str, *, show_full_name: bool) -> str:
    name = name.strip()
    if show_full_name:
        return name
    if " " in name:  # a name written in Latin letters, family name last
        return f"{name.split()[-1]}*"
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]
    return f"{surname}*"
