"""A form's errors as the page shows them: a translated message per input name, and those
that concern the whole form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cobuild_console import i18n
from cobuild_console.domain.refusals import field_messages
from cobuild_console.gateways.services import ServiceRefusal


@dataclass
class FormErrors:
    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str | None, message: str) -> None:
        if name is None:
            self.general.append(message)
        else:
            self.fields.setdefault(name, message)

    @classmethod
    def of_refusal(
        cls, refused: ServiceRefusal, renamed: Mapping[str, str], known: frozenset[str]
    ) -> FormErrors:
        errors = cls()
        for m in field_messages(refused.body, renamed, known):
            text = i18n.gettext(m.message_id)
            if m.args:
                text = text % {str(i): a for i, a in enumerate(m.args)}
            errors.add(m.field, text)
        return errors
