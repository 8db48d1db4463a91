"""The closed sets of words the queue speaks: skills, priorities, statuses, codes."""

from __future__ import annotations

import enum


class Skill(str, enum.Enum):
    BILLING = "billing"
    TECHNICAL = "technical"
    RETENTION = "retention"
    GENERAL = "general"


class Priority(str, enum.Enum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


# Lower ranks leave the queue first.
PRIORITY_RANK = {
    Priority.URGENT: 0,
    Priority.HIGH: 1,
    Priority.NORMAL: 2,
    Priority.LOW: 3,
}


class ChannelKind(str, enum.Enum):
    """The channel a customer writes on, as staff name it."""

    WEB_CHAT = "web_chat"
    KAKAOTALK = "kakaotalk"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    OTHER = "other"


class AgentStatus(str, enum.Enum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class HandoffMode(str, enum.Enum):
    QUEUE = "queue"
    CALLBACK = "callback"
    TICKET = "ticket"


class Trigger(str, enum.Enum):
    EXPLICIT_REQUEST = "explicit_request"
    COMPLEX_TOPIC = "complex_topic"
    EMOTION = "emotion"
    REPEATED_FAILURE = "repeated_failure"
    VERIFICATION_FAILED = "verification_failed"
    OTHER = "other"


class Resolution(str, enum.Enum):
    RESOLVED = "resolved"
    FOLLOW_UP = "follow_up"
    NO_RESPONSE = "no_response"
    DUPLICATE = "duplicate"
    SPAM = "spam"
    # Set by the service, never chosen by an agent closing a conversation.
    CUSTOMER_CANCELLED = "customer_cancelled"
    TIMED_OUT = "timed_out"


AGENT_RESOLUTIONS = frozenset(
    {
        Resolution.RESOLVED,
        Resolution.FOLLOW_UP,
        Resolution.NO_RESPONSE,
        Resolution.DUPLICATE,
        Resolution.SPAM,
    }
)

# Staff who never chose a language are spoken to in Korean.
DEFAULT_STAFF_LANGUAGE = "ko"
DEFAULT_CAPACITY = 3
MAX_CAPACITY = 20


class TransitionActor(str, enum.Enum):
    """Who moved a handoff: an agent, or the part of the system that did it."""

    AGENT = "agent"
    # The bot's request that opened the handoff.
    BOT = "bot"
    DISPATCHER = "dispatcher"
    SWEEPER = "sweeper"
    INGEST = "ingest"
    # The agent directory, when a supervisor deactivates an agent.
    DIRECTORY = "directory"


class TransitionReason(str, enum.Enum):
    REQUESTED = "requested"
    CLAIMED = "claimed"
    AUTO_ASSIGNED = "auto_assigned"
    TRANSFERRED = "transferred"
    CLOSED = "closed"
    TIMED_OUT = "timed_out"
    CUSTOMER_CANCELLED = "customer_cancelled"
    AGENT_DEACTIVATED = "agent_deactivated"


class RefusalKind(str, enum.Enum):
    """What a customer asked for too often; counted in the supervisors' numbers."""

    HANDOFFS = "handoffs"
    RATINGS = "ratings"
    # Per client address: web chat session ids, and handoffs from their sessions.
    CHAT_SESSIONS = "chat_sessions"
    HANDOFFS_PER_ADDRESS = "handoffs_per_address"
    # Refused by the bot, which reports them (POST /api/rasa/refusals).
    VERIFICATION_CODES = "verification_codes"
    PHONE_NUMBERS = "phone_numbers"


# The refusals the bot reports; the service makes the others itself.
BOT_REFUSALS = frozenset({RefusalKind.VERIFICATION_CODES, RefusalKind.PHONE_NUMBERS})


class Channel(str, enum.Enum):
    """Where a customer writes from, told by the prefix of the bot's sender id
    (handoff/conversation/channels.py); the web chat's ids have none."""

    WEB = "web"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    KAKAO = "kakao"


class DeliveryFailureReason(str, enum.Enum):
    """Why an agent's reply did not reach the customer."""

    # The platform refused it or kept failing (after the channel's retries).
    PLATFORM_ERROR = "platform_error"
    # WhatsApp: over 24 hours since the customer's last message.
    WINDOW_CLOSED = "window_closed"
    # The customer blocked the bot or unsubscribed.
    BLOCKED = "blocked"
    INVALID_RECIPIENT = "invalid_recipient"
    TIMEOUT = "timeout"
    # Rasa itself could not be reached, or failed otherwise.
    RASA_UNAVAILABLE = "rasa_unavailable"
