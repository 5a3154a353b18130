"""A person's wishes: which channels per kind, how often, and the quiet hours (Asia/Shanghai)
during which nothing is sent. Where a delivery goes and when it is due follow from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from cobuild_kit.clock import BUSINESS_TZ

from cobuild_notifications.domain.kinds import OUTSIDE, Channel, Frequency

# A digest goes out at this business time: daily every day, weekly on Mondays.
DIGEST_AT = time(8, 0)
# Every channel the person gave an address for, unless they chose otherwise for a kind.
DEFAULT_CHANNELS: tuple[Channel, ...] = (Channel.INBOX, *OUTSIDE)


@dataclass(frozen=True)
class Preferences:
    subject: str
    language: str = "zh-CN"
    addresses: dict[Channel, str] = field(default_factory=dict)  # entered by the person
    frequency: Frequency = Frequency.REALTIME
    quiet_start: time | None = None
    quiet_end: time | None = None
    channels: dict[str, tuple[Channel, ...]] = field(default_factory=dict)  # by kind

    def wanted(self, kind: str) -> tuple[Channel, ...]:
        """The channels outside the app this kind goes to: the person's choice for the kind
        (or the default), less those with no address; none at frequency 'none'."""
        if self.frequency is Frequency.NONE:
            return ()
        chosen = self.channels.get(kind, DEFAULT_CHANNELS)
        return tuple(c for c in OUTSIDE if c in chosen and self.addresses.get(c))

    @property
    def digests(self) -> bool:
        """Whether the person chose a daily or weekly digest (who gets the street's news)."""
        return self.frequency in (Frequency.DAILY, Frequency.WEEKLY)

    def due(self, now: datetime) -> tuple[datetime, bool]:
        """When a message decided at `now` may go, and whether it waits for a digest."""
        if self.frequency is Frequency.DAILY:
            return self.after_quiet(next_digest(now, weekly=False)), True
        if self.frequency is Frequency.WEEKLY:
            return self.after_quiet(next_digest(now, weekly=True)), True
        return self.after_quiet(now), False

    def after_quiet(self, at: datetime) -> datetime:
        """`at`, or the end of the quiet hours if `at` falls inside them."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return at
        local = at.astimezone(BUSINESS_TZ)
        t = local.timetz().replace(tzinfo=None)
        start, end = self.quiet_start, self.quiet_end
        if start < end:  # e.g. 12:00-14:00
            inside = start <= t < end
            ends_on = local.date()
        else:  # over midnight, e.g. 22:00-07:00
            inside = t >= start or t < end
            ends_on = local.date() + timedelta(days=1) if t >= start else local.date()
        if not inside:
            return at
        return datetime.combine(ends_on, end, BUSINESS_TZ)


def next_digest(now: datetime, *, weekly: bool) -> datetime:
    """The next digest time strictly after `now` (08:00 Shanghai; Mondays for weekly)."""
    local = now.astimezone(BUSINESS_TZ)
    day: date = local.date()
    candidate = datetime.combine(day, DIGEST_AT, BUSINESS_TZ)
    if candidate <= local:
        candidate += timedelta(days=1)
    if weekly:
        while candidate.weekday() != 0:
            candidate += timedelta(days=1)
    return candidate
