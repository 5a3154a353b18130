"""What is notified (a kind per change a person may care about), over which channels, and how
often a person wants to hear."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    REMINDER_DUE = "reminder_due"  # a commitment's deadline N days away
    OVERDUE = "overdue"
    DONE = "done"  # marked done by the obligor: the beneficiary's confirmation waits
    CONFIRMED = "confirmed"  # the beneficiary confirmed the work: fulfilled
    REFUSED = "refused"  # the beneficiary refused the work done
    CANCELLED = "cancelled"
    ASSIGNED = "assigned"  # members assigned to a commitment
    PROPOSAL = "proposal"  # a draft proposed or countered, to the other side
    SIGNED = "signed"
    AMENDED = "amended"
    MATCH = "match"  # a match suggested for a published need
    REPORT_ACCEPTED = "report_accepted"  # a member's 报到 to a community
    REPORT_DECLINED = "report_declined"  # a member's 报到 declined, with the reason
    SIGN_UP = "sign_up"  # an activity's sign-up confirmed, cancelled, or its attendance confirmed
    STREET = "street"  # a need or resource new in one's street: daily or weekly digests only
    SCORED = "scored"  # a score published (公示) or final, to its subject
    ASSESSMENT = "assessment"  # an assessment completed, to the district's admins
    OBJECTION = "objection"  # an objection decided, to who filed it and its subject
    WHISTLE = "whistle"  # a whistle routed, escalated or resolved, to the parties it concerns
    FOLLOWED = "followed"  # a change to something the person follows


class Channel(StrEnum):
    INBOX = "inbox"  # the in-app inbox: the notification row itself
    EMAIL = "email"
    SMS = "sms"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    WECHAT = "wechat"  # WeChat subscription messages (订阅消息): one per consent the person gave


# Channels outside the app, each needing an address the person entered.
OUTSIDE: tuple[Channel, ...] = (
    Channel.EMAIL,
    Channel.SMS,
    Channel.WECOM,
    Channel.DINGTALK,
    Channel.WECHAT,
)


class Frequency(StrEnum):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    NONE = "none"  # the inbox only


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # Not attempted, with the reason in last_error: no WeChat consent left, or a digest item
    # withdrawn (or no longer visible to the person) before its digest went out.
    SKIPPED = "skipped"
