"""Rasa's REST channel behind a bearer token.

Rasa's own ``rest`` channel lets its caller name any ``sender``, so whoever reaches
it can speak inside anyone's conversation. This one answers only callers that send
``Authorization: Bearer <token>``; it is for trusted integrations and the
benchmarks, and is off unless a credentials file names it (bench/credentials.yml):

    bot.rest_channel.TokenRestInput:
      token: ${TANDEM_REST_TOKEN}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bearer_auth import refusal

TOKEN_SETTING = "TANDEM_REST_TOKEN"


class MissingRestToken(ValueError):
    """The channel is configured without a token, which would leave it open."""


class TokenRestInput(RestInput):
    """``POST /webhooks/rest/webhook`` as Rasa serves it, for token holders only."""

    def __init__(self, token: str) -> None:
        if not token:
            raise MissingRestToken(
                f"The REST channel needs a token: set {TOKEN_SETTING}, or leave the"
                " channel out of the credentials file."
            )
        self.token = token

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TokenRestInput:
        return cls(str((credentials or {}).get("token") or ""))

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        # Blueprint middleware runs only for this channel's routes.
        @webhook.middleware("request")
        async def require_token(request: Request) -> HTTPResponse | None:
            return refusal(request, self.token, TOKEN_SETTING)

        return webhook
