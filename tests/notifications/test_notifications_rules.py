"""The notifications service's pure rules: when a message may go (quiet hours over midnight
and within a day, digests at 08:00 Shanghai), which channels a person's settings allow, who
an event concerns, and the words in both languages."""

from __future__ import annotations

from datetime import time
from uuid import uuid4

from cobuild_contracts import Role
from cobuild_notifications.domain import decisions, messages
from cobuild_notifications.domain.audience import Members, PartyRoles, Subjects
from cobuild_notifications.domain.kinds import Channel, Frequency, Kind
from cobuild_notifications.domain.preferences import Preferences
from notifications_support import local, sample


def test_quiet_hours_over_midnight_and_within_a_day() -> None:
    night = Preferences("p", quiet_start=time(22), quiet_end=time(7))
    assert night.due(local(2026, 6, 10, 23, 30)) == (local(2026, 6, 11, 7), False)
    assert night.due(local(2026, 6, 11, 3)) == (local(2026, 6, 11, 7), False)
    assert night.due(local(2026, 6, 11, 7)) == (local(2026, 6, 11, 7), False)  # over
    assert night.due(local(2026, 6, 11, 21, 59)) == (local(2026, 6, 11, 21, 59), False)
    noon = Preferences("p", quiet_start=time(12), quiet_end=time(14))
    assert noon.due(local(2026, 6, 10, 13)) == (local(2026, 6, 10, 14), False)
    assert noon.due(local(2026, 6, 10, 14, 1)) == (local(2026, 6, 10, 14, 1), False)


def test_digests_go_at_eight_daily_or_on_mondays_and_respect_quiet_hours() -> None:
    daily = Preferences("p", frequency=Frequency.DAILY)
    assert daily.due(local(2026, 6, 10, 7, 59)) == (local(2026, 6, 10, 8), True)
    assert daily.due(local(2026, 6, 10, 8)) == (local(2026, 6, 11, 8), True)
    weekly = Preferences("p", frequency=Frequency.WEEKLY)
    assert weekly.due(local(2026, 6, 10, 9)) == (local(2026, 6, 15, 8), True)  # a Wednesday
    late = Preferences("p", frequency=Frequency.DAILY, quiet_start=time(22), quiet_end=time(9))
    assert late.due(local(2026, 6, 10, 10)) == (local(2026, 6, 11, 9), True)


def test_channels_need_an_address_and_follow_the_choice_per_kind() -> None:
    p = Preferences("p", addresses={Channel.EMAIL: "a@example.org"})
    assert p.wanted(Kind.OVERDUE) == (Channel.EMAIL,)  # no phone: no SMS
    chosen = Preferences(
        "p", addresses={Channel.EMAIL: "a@example.org", Channel.SMS: "13800138000"},
        channels={Kind.OVERDUE.value: (Channel.INBOX, Channel.SMS)},
    )  # fmt: skip
    assert chosen.wanted(Kind.OVERDUE) == (Channel.SMS,)
    assert chosen.wanted(Kind.SIGNED) == (Channel.EMAIL, Channel.SMS)
    # By default every channel the person gave an address for, WeChat and WeCom too.
    every = Preferences("p", addresses={Channel.WECHAT: "oWx", Channel.WECOM: "zhangsan"})
    assert every.wanted(Kind.OVERDUE) == (Channel.WECOM, Channel.WECHAT)
    quiet = Preferences("p", addresses={Channel.EMAIL: "a@example.org"}, frequency=Frequency.NONE)
    assert quiet.wanted(Kind.OVERDUE) == ()


def test_objections_go_to_who_filed_them_and_their_subject() -> None:
    member, unit = uuid4(), uuid4()
    e = sample("objection.rejected", subject_kind="member", subject_id=member)
    d = decisions.objection_decided(e, "filer-sub")  # type: ignore[arg-type]
    assert d.audiences == (Subjects(("filer-sub",)), Members((member,)))
    e = sample("objection.upheld", subject_kind="unit", subject_id=unit)
    d = decisions.objection_decided(e, None)  # type: ignore[arg-type]
    assert d.audiences == (Subjects(()), PartyRoles(unit, frozenset({Role.UNIT_ADMIN})))
    assert d.params["outcome"] == "upheld"


def test_a_proposal_goes_to_the_other_side() -> None:
    made = sample("proposal.made")
    community, unit = made.community_id, made.unit_id  # type: ignore[attr-defined]
    made = sample("proposal.made", proposed_by=community)
    assert decisions.proposal(made).audiences == (PartyRoles(unit),)  # type: ignore[arg-type]
    back = sample("proposal.made", proposed_by=unit)
    assert decisions.proposal(back).audiences == (PartyRoles(community),)  # type: ignore[arg-type]


def test_a_declined_report_and_a_sign_up_go_to_that_member() -> None:
    member = uuid4()
    declined = sample("member.report_declined", member_id=member, subject="asker", reason="满员")
    d = decisions.report_declined(declined)  # type: ignore[arg-type]
    assert d.audiences == (Members((member,)), Subjects(("asker",)))
    assert d.kind == Kind.REPORT_DECLINED and d.params == {"reason": "满员"}
    a = decisions.ActivityView(uuid4(), uuid4(), "楼道清扫", local(2026, 6, 6, 9))
    d = decisions.sign_up(a, member, "cancelled", by_community=True)
    assert d.audiences == (Members((member,)),) and not d.digest_only
    assert d.params["by"] == "community" and d.params["starts_at"] == "2026-06-06 09:00"
    zh = messages.render(d.kind, d.params, "zh-CN")
    assert zh.title == "活动「楼道清扫」的报名已取消" and zh.body.startswith("社区取消了你")


def test_the_streets_news_is_for_digests_only_and_names_what_it_is_about() -> None:
    need = uuid4()
    d = decisions.street_news("need", need, "助老送餐", "金陵东路社区", ("a", "b"), "/needs/x")
    assert d.digest_only and d.about == ("need", need)
    assert d.audiences == (Subjects(("a", "b")),)
    assert Preferences("p", frequency=Frequency.DAILY).digests
    assert Preferences("p", frequency=Frequency.WEEKLY).digests
    assert not Preferences("p").digests and not Preferences("p", frequency=Frequency.NONE).digests
    r = messages.render(d.kind, d.params, "zh-CN")
    assert r.title == "街道新需求：助老送餐" and r.body == "金陵东路社区发布了需求「助老送餐」。"


def test_every_kind_has_words_in_both_languages() -> None:
    params = {"title": "助老送餐", "deadline": "2026-06-30", "days_left": "3", "reason": "r",
              "on_time": "yes", "version": "2", "items": "3", "term_end": "2026-12-31",
              "added": "1", "cancelled": "0", "rank": "1", "year": "2026", "score": "91.5",
              "grade": "excellent", "state": "publicised", "step": "routed",
              "due": "2026-06-30", "outcome": "upheld", "of": "overdue", "item": "need",
              "place": "金陵东路社区", "by": "community", "starts_at": "2026-06-06 09:00",
              "hours": "2.5"}  # fmt: skip
    for kind in Kind:
        for lang in messages.LANGUAGES:
            r = messages.render(kind, params, lang)
            assert r.title and r.body, (kind, lang)
    assert messages.render(Kind.FOLLOWED, params, "zh-CN").body.endswith("任务「助老送餐」已逾期")
    mail = messages.mail([messages.render(Kind.OVERDUE, params, "en", "http://x/tasks/1")], "en",
                         "http://x/unsubscribe/t")  # fmt: skip
    assert mail.subject == "“助老送餐” is overdue" and "http://x/unsubscribe/t" in mail.text
    assert (
        "<script"
        not in messages.mail(
            [messages.render(Kind.REFUSED, {**params, "reason": "<script>"}, "en")], "en", "u"
        ).html
    )
