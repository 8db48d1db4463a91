"""Domain errors: what went wrong, and the HTTP status and code the API reports."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An error the API reports as ``{"error": code, "message": message}``."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = {}


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"


class InvalidRequest(DomainError):
    status = 400
    code = "invalid_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class AlreadyAssigned(DomainError):
    status = 409
    code = "already_assigned"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"


class AgentUnavailable(DomainError):
    status = 409
    code = "agent_unavailable"


class AtCapacity(DomainError):
    status = 409
    code = "at_capacity"


class AlreadyExists(DomainError):
    status = 409
    code = "already_exists"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds)
        self.headers["Retry-After"] = str(retry_after_seconds)


class AttachmentEmpty(DomainError):
    status = 400
    code = "attachment_empty"


class AttachmentTooLarge(DomainError):
    status = 413
    code = "attachment_too_large"


class AttachmentTypeNotAllowed(DomainError):
    status = 415
    code = "attachment_type_not_allowed"


class AttachmentRateLimited(TooManyRequests):
    code = "attachment_rate_limited"


class DatabaseUnavailable(DomainError):
    """The database did not answer; nothing was changed, and the same request
    may be sent again."""

    status = 503
    code = "database_unavailable"
    RETRY_AFTER_SECONDS = 5

    def __init__(self) -> None:
        super().__init__(
            "the service's database is not answering; try again shortly",
            retry_after_seconds=self.RETRY_AFTER_SECONDS,
        )
        self.headers["Retry-After"] = str(self.RETRY_AFTER_SECONDS)


class RasaUnavailable(DomainError):
    status = 502
    code = "rasa_unavailable"


class ChannelDeliveryFailed(RasaUnavailable):
    """Rasa took the message, but the customer's channel could not deliver it."""

    code = "delivery_failed"

    def __init__(
        self,
        message: str,
        *,
        channel: str,
        reason: str,
        permanent: bool,
        **extra: Any,
    ) -> None:
        super().__init__(
            message, channel=channel, reason=reason, permanent=permanent, **extra
        )
        self.channel = channel
        self.reason = reason
        self.permanent = permanent
