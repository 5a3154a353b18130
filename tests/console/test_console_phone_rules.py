"""The phone pages' pure rules (issue 36): a check-in refusal of the points service read as a
catalogue message with when the window opens or closed; an entry's cause and the cap that cut
it; the check-in QR code's link on the public URL with the signed token."""

from __future__ import annotations

from cobuild_console.domain.phone import cap_label, check_in_refusal, requested_points
from cobuild_console.usecases.activities import check_in_url


def test_check_in_refusals_say_why_and_when() -> None:
    assert check_in_refusal("check-in has not opened yet: it opens at 2026-12-09 09:00") == (
        "Check-in has not opened yet: it opens at %(0)s.", ("2026-12-09 09:00",))  # fmt: skip
    assert check_in_refusal("check-in has closed: it closed at 2026-12-08 11:00") == (
        "Check-in has closed: it closed at %(0)s.", ("2026-12-08 11:00",))  # fmt: skip
    assert check_in_refusal("already checked in at 2026-12-08T01:00:00+00:00")[0] == (
        "You have already checked in to this activity.")  # fmt: skip
    assert check_in_refusal("the check-in token is not valid")[0].startswith("This QR code")
    assert check_in_refusal("the member has not signed up for this activity")[0].startswith(
        "You have not signed up"
    )
    assert check_in_refusal("something new") == ("The check-in was not accepted.", ())


def test_the_cap_that_cut_an_award_and_what_was_asked() -> None:
    assert cap_label(None) is None
    assert cap_label("daily cap") == "the daily cap"
    assert cap_label("per-activity cap") == "the per-activity cap"
    assert cap_label("activity yearly cap") == "the yearly cap of its kind"
    reason = "volunteer activity attendance: activity x 3 h; capped by the daily cap (6.00 → 4.00)"
    assert requested_points(reason) == "6.00"
    assert requested_points("volunteer activity attendance: activity x 2 h") is None


def test_the_check_in_link_is_on_the_public_url_with_the_token() -> None:
    url = check_in_url("https://gongjian.example.cn", "a-1", "1.1765000000.1765007200.abc_-")
    assert url == (
        "https://gongjian.example.cn/m/checkin?activity=a-1&token=1.1765000000.1765007200.abc_-"
    )


def test_every_kind_of_notification_has_a_tag_on_the_phone() -> None:
    """消息 (issue 37): each kind the notifications service writes reads as a tag in the
    catalogue's words (a kind added there without a tag here fails this test)."""
    from cobuild_console.domain.inbox import KIND_TAGS, OTHER, kind_tag
    from cobuild_notifications.domain.kinds import Kind

    assert {k.value for k in Kind} <= set(KIND_TAGS)
    assert kind_tag("something_new") == OTHER


def test_a_notice_links_only_to_a_page_a_phone_has() -> None:
    from cobuild_console.domain.inbox import phone_link

    assert phone_link("/m/") == "/m/"
    assert phone_link("/m/points") == "/m/points"
    assert phone_link("/m/objection") == "/m/objection"
    assert phone_link("/board/communities/5b0e3c1a") == "/board/communities/5b0e3c1a"
    for workbench_or_elsewhere in (
        "/tasks/5b0e3c1a", "/agreements/5b0e3c1a", "/needs/5b0e3c1a", "/board",
        "", "//evil.example/m/", "https://evil.example/m/", "/m\\..\\tasks",
    ):  # fmt: skip
        assert phone_link(workbench_or_elsewhere) == "", workbench_or_elsewhere
