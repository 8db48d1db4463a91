"""The interface between the actions and the operator's billing/CRM systems.

Everything the bot knows about customers, bills, plans, orders and outages comes
through ``CustomerBackend``. The demo back end (``actions/backend/demo.py``) implements
it on SQLite; a real billing/CRM API plugs in by implementing the same methods (see
docs/backend.md).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Protocol


class BackendUnavailable(Exception):
    """The back end could not answer; the customer gets an apology, never a trace."""


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    phone_number: str
    plan_name: str


@dataclass(frozen=True)
class BillItem:
    code: str
    """Stable item code (``plan_fee``, ``roaming`` …) used to compare two bills."""
    label_ko: str
    label_en: str
    amount_won: int
    """Negative for discounts."""


@dataclass(frozen=True)
class Bill:
    period: dt.date
    """First day of the month the bill is for."""
    amount_won: int
    due_date: dt.date
    paid: bool
    items: tuple[BillItem, ...] = field(default=())


@dataclass(frozen=True)
class Plan:
    name: str
    name_en: str
    kind: str
    """``mobile`` or ``internet``."""
    monthly_won: int
    data_gb: int | None
    """Monthly data allowance; ``None`` for unlimited (and for home internet)."""
    summary_ko: str
    summary_en: str


@dataclass(frozen=True)
class DataUsage:
    period: dt.date
    used_mb: int


@dataclass(frozen=True)
class PaymentAccount:
    method: str
    """``card``, ``bank_transfer`` or ``giro``."""
    detail: str
    """What the customer recognises: ``신한카드 ****1234``."""
    autopay_day: int | None
    """Day of the month of the automatic payment; ``None`` without auto-pay."""


@dataclass(frozen=True)
class OrderRequest:
    plan_name: str
    name: str
    contact_phone: str
    address: str
    install_date: dt.date
    language: str


@dataclass(frozen=True)
class Order:
    order_number: str
    plan_name: str
    install_date: dt.date


@dataclass(frozen=True)
class Outage:
    district: str
    service: str
    """``mobile``, ``internet`` or ``iptv``."""
    started_at: dt.datetime
    """Aware, like every moment the back end answers; the actions say it in the
    business's time zone."""
    expected_end: dt.datetime | None
    """When it should be fixed; ``None`` when unknown or already overdue."""
    cause_ko: str
    cause_en: str


class CodeCheck(enum.Enum):
    """The outcome of checking a one-time code."""

    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    NO_CODE = "no_code"


@dataclass(frozen=True)
class CodeCheckResult:
    outcome: CodeCheck
    attempts_left: int


@dataclass(frozen=True)
class CodeSent:
    expires_at: dt.datetime


class CustomerBackend(Protocol):
    """What the actions need from the operator's systems.

    Every method raises ``BackendUnavailable`` when the system cannot answer.
    Phone numbers are in ``010-1234-5678`` form; months are their first day.
    """

    async def find_customer_by_phone(self, phone_number: str) -> Customer | None:
        """The customer whose line has this number."""
        ...

    async def customer(self, customer_id: int) -> Customer | None: ...

    async def send_verification_code(self, customer_id: int) -> CodeSent:
        """Sends a new one-time code to the customer's line, replacing any earlier
        one. A real back end sends an SMS here."""
        ...

    async def check_verification_code(
        self, customer_id: int, code: str
    ) -> CodeCheckResult:
        """Checks a code against the latest one sent; counts wrong attempts."""
        ...

    async def current_bill(self, customer_id: int) -> Bill | None:
        """The customer's most recent bill with its items, if any was issued."""
        ...

    async def recent_bills(self, customer_id: int, months: int) -> list[Bill]:
        """Up to ``months`` latest bills with their items, newest first."""
        ...

    async def payment_account(self, customer_id: int) -> PaymentAccount | None: ...

    async def change_autopay_day(self, customer_id: int, day: int) -> PaymentAccount:
        """Moves the automatic payment to ``day`` (1–28) of the month."""
        ...

    async def plans(self) -> list[Plan]:
        """The catalogue, cheapest first within each kind."""
        ...

    async def data_usage(self, customer_id: int, months: int) -> list[DataUsage]:
        """Data used in the latest ``months`` months, newest (the current, still
        running month) first."""
        ...

    async def create_order(self, request: OrderRequest) -> Order:
        """Stores a new-line or home-internet order and returns its number."""
        ...

    async def active_outages(self, district: str) -> list[Outage]:
        """Outages going on now in a district (``강남구``)."""
        ...
