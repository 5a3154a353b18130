"""`canaille run`, with one correction to how Canaille 0.3.6 sends an SMS one-time code.

Its SMS sign-in step (canaille/core/endpoints/auth/sms.py) hands the user's *email address*
to the SMS sender as the recipient, and the site's display name as the SMPP sender id, which a
gateway refuses when it is not ASCII (ours is Chinese): no code would ever reach a phone. We
replace that one function, in the served process only, with one that sends the same text (its
template, translated by our catalogue) to the user's first phone number from an ASCII sender
id. Everything else is Canaille's `run` command as shipped: the launcher starts
`python -m cobuild_stack.provider_server run`, and Hypercorn serves Canaille's ASGI app in this
process (`WORKERS = 0`), so the correction is in force where requests are served.

The pin (canaille==0.3.6 in libs/stack/pyproject.toml) keeps the replaced function where we
expect it; if it moves, this refuses to start rather than serve a broken SMS step.
"""

from __future__ import annotations

import os
import sys
from typing import Any

SENDER_ENV = "COBUILD_PROVIDER_SMS_SENDER"
DEFAULT_SENDER = "Cobuild"  # SMPP source_addr: ASCII, at most 20 characters


def send_code_to_phone(_recipient_given: str, otp: str) -> Any:
    """The SMS step's `send_one_time_password_sms(recipient, otp)`, to the phone instead."""
    from canaille.app.sms import send_sms
    from canaille.app.templating import render_template
    from flask import current_app, g

    phones = list(g.auth.user.phone_numbers or []) if g.auth and g.auth.user else []
    if not phones:
        current_app.logger.warning("no phone number to send the one-time passcode to")
        return False
    text = render_template(
        "core/sms/sms_otp.txt",
        website_name=current_app.config["CANAILLE"]["NAME"],
        otp=otp,
    )
    sender = os.environ.get(SENDER_ENV) or DEFAULT_SENDER
    return send_sms.send(recipient=phones[0], sender=sender, text=text)


def install_corrections() -> None:
    import canaille.core.endpoints.auth.sms as sms_step

    if not callable(getattr(sms_step, "send_one_time_password_sms", None)):
        raise SystemExit(
            "canaille.core.endpoints.auth.sms.send_one_time_password_sms is gone: this "
            "correction was written for canaille 0.3.6; check the new version's SMS step"
        )
    sms_step.send_one_time_password_sms = send_code_to_phone


def main() -> None:
    install_corrections()
    from canaille.commands import cli

    sys.exit(cli(prog_name="canaille"))


if __name__ == "__main__":
    main()
