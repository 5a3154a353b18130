"""The provider's settings refuse what must not run (no database, no process)."""

from __future__ import annotations

import pytest
from cobuild_stack.errors import StackError
from cobuild_stack.provider import ProviderSettings


def test_plain_http_is_refused_off_loopback() -> None:
    with pytest.raises(StackError, match="only on loopback"):
        ProviderSettings.from_env({"COBUILD_PROVIDER_PUBLIC_URL": "http://id.example.org"})
    with pytest.raises(StackError, match="only on loopback"):
        ProviderSettings.from_env({"COBUILD_CONSOLE_PUBLIC_URL": "http://192.0.2.7:8100"})
    ok = ProviderSettings.from_env({"COBUILD_PROVIDER_PUBLIC_URL": "https://id.example.org"})
    assert ok.public_url == "https://id.example.org"
    with pytest.raises(StackError, match="sign-in step"):
        ProviderSettings.from_env({"COBUILD_PROVIDER_FACTORS": "password,carrier-pigeon"})
