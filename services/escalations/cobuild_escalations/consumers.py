"""Events in: the parties directory from the agreements service's party events (a whistle's
place and the hierarchy above it, and which units are departments). Nobody waits on it: a
whistle for a place not known yet is refused with a 422 that says "not yet"."""

from __future__ import annotations

from cobuild_contracts import topics
from cobuild_kit.consumer import ConsumerSpec
from cobuild_kit.parties import follow_parties

parties = follow_parties(ConsumerSpec(purpose="parties", topics=[topics.AGREEMENTS], prompt=False))
