"""Fixtures of the escalations tests (the session's PostgreSQL and broker come from tests/)."""

from __future__ import annotations

import pytest
from cobuild_kit.testing import TestIssuer


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    return TestIssuer()
