"""The Synapse harness: it starts, accepts the bridge's registration, registers users."""

from __future__ import annotations

import pytest

from tests.matrix.synapse import MatrixHTTPError, Synapse


def test_synapse_accepts_the_bridge_registration(synapse: Synapse) -> None:
    token = synapse.registration.as_token
    bot = f"@{synapse.registration.bot_localpart}:{synapse.server_name}"
    assert (
        synapse.request("GET", "/_matrix/client/v3/account/whoami", token=token)["user_id"] == bot
    )
    # A puppet in the exclusive namespace is the appservice's to register...
    reply = synapse.request(
        "POST",
        "/_matrix/client/v3/register?kind=user",
        {"type": "m.login.application_service", "username": "parley_test_1", "inhibit_login": True},
        token=token,
    )
    assert reply["user_id"] == f"@parley_test_1:{synapse.server_name}"
    # ...and nobody else's.
    with pytest.raises(MatrixHTTPError) as refused:
        synapse.request(
            "POST",
            "/_matrix/client/v3/register?kind=user",
            {"type": "m.login.application_service", "username": "someone", "inhibit_login": True},
            token=token,
        )
    assert refused.value.status == 400


def test_shared_secret_registration(synapse: Synapse) -> None:
    user = synapse.register_user("harness_user")
    assert user.user_id == f"@harness_user:{synapse.server_name}"
    me = synapse.request("GET", "/_matrix/client/v3/account/whoami", token=user.access_token)
    assert me["user_id"] == user.user_id
