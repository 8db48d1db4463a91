"""The demo back end: a SQLite database seeded on first use.

It implements ``CustomerBackend`` with SQLAlchemy; the blocking queries run in a
worker thread so the action server's event loop is never held up. One-time codes go
to a development outbox file (``actions/backend/code_delivery.py``).

SQLite keeps no time zone: moments are stored as UTC without one, and answered
as aware UTC times, which the actions say in the business's time zone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, create_engine, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from actions.backend.adapter import (
    BackendUnavailable,
    Bill,
    BillItem,
    CodeCheck,
    CodeCheckResult,
    CodeSent,
    Customer,
    DataUsage,
    Order,
    OrderRequest,
    Outage,
    PaymentAccount,
    Plan,
)
from actions.backend.code_delivery import DevOutbox, code_message
from actions.backend.demo_schema import (
    SCHEMA_VERSION,
    Base,
    BillItemRow,
    BillRow,
    CustomerRow,
    DataUsageRow,
    OrderRow,
    OutageRow,
    PaymentAccountRow,
    PlanRow,
    VerificationCodeRow,
)
from actions.backend.demo_seed import demo_rows
from actions.time_zone import DEFAULT_TIME_ZONE

CODE_LIFETIME = dt.timedelta(minutes=5)
MAX_CODE_ATTEMPTS = 3
CODE_DIGITS = 6
SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
)

T = TypeVar("T")


def _set_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def stored_time(moment: dt.datetime) -> dt.datetime:
    """An aware moment as the database keeps it: UTC, without a time zone."""
    if moment.tzinfo is None:
        raise ValueError(
            f"the back end's clock must give aware times, not {moment.isoformat()}"
        )
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def answered_time(stored: dt.datetime) -> dt.datetime:
    return stored.replace(tzinfo=dt.timezone.utc)


async def run_query(query: Callable[..., T], *args: object) -> T:
    """Runs a blocking SQLite query in a worker thread; its failures mean the
    back end is unavailable."""
    try:
        return await asyncio.to_thread(query, *args)
    except (OSError, SQLAlchemyError) as error:
        raise BackendUnavailable(str(error)) from error


def hash_code(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


class DemoBackend:
    def __init__(
        self,
        database_path: Path,
        *,
        outbox_path: Path | None = None,
        today: dt.date | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        time_zone: ZoneInfo | None = None,
    ) -> None:
        self._database_path = database_path
        self._outbox = DevOutbox(outbox_path or database_path.parent / "dev_outbox.log")
        # Where the customers are: the SMS's expiry time and the order numbers'
        # dates are theirs.
        self._time_zone = time_zone or ZoneInfo(DEFAULT_TIME_ZONE)
        if clock is None and today is not None:
            noon = dt.datetime.combine(today, dt.time(12, 0), self._time_zone)
            clock = lambda: noon  # noqa: E731
        self._clock = clock or utc_now
        self._engine: Engine | None = None

    # The adapter interface: each call runs its query in a worker thread.

    async def find_customer_by_phone(self, phone_number: str) -> Customer | None:
        return await self._run(self._find_customer_by_phone, phone_number)

    async def customer(self, customer_id: int) -> Customer | None:
        return await self._run(self._customer, customer_id)

    async def send_verification_code(self, customer_id: int) -> CodeSent:
        return await self._run(self._send_verification_code, customer_id)

    async def check_verification_code(
        self, customer_id: int, code: str
    ) -> CodeCheckResult:
        return await self._run(self._check_verification_code, customer_id, code)

    async def current_bill(self, customer_id: int) -> Bill | None:
        bills = await self.recent_bills(customer_id, 1)
        return bills[0] if bills else None

    async def recent_bills(self, customer_id: int, months: int) -> list[Bill]:
        return await self._run(self._recent_bills, customer_id, months)

    async def payment_account(self, customer_id: int) -> PaymentAccount | None:
        return await self._run(self._payment_account, customer_id)

    async def change_autopay_day(self, customer_id: int, day: int) -> PaymentAccount:
        return await self._run(self._change_autopay_day, customer_id, day)

    async def plans(self) -> list[Plan]:
        return await self._run(self._plans)

    async def data_usage(self, customer_id: int, months: int) -> list[DataUsage]:
        return await self._run(self._data_usage, customer_id, months)

    async def create_order(self, request: OrderRequest) -> Order:
        return await self._run(self._create_order, request)

    async def active_outages(self, district: str) -> list[Outage]:
        return await self._run(self._active_outages, district)

    # Plumbing.

    async def _run(self, query: Callable[..., T], *args: object) -> T:
        return await run_query(query, *args)

    def _session(self) -> Session:
        if self._engine is None:
            self._engine = self._open()
        return Session(self._engine)

    def _open(self) -> Engine:
        self._database_path.parent.mkdir(parents=True, exist_ok=True)
        # One pooled connection in WAL mode instead of a new connection per query
        # and a synced rollback journal per commit: a code sent is stored in well
        # under a millisecond, and still survives a restart of the action server.
        engine = create_engine(
            f"sqlite:///{self._database_path}",
            future=True,
            poolclass=QueuePool,
            connect_args={"check_same_thread": False},
        )
        event.listen(engine, "connect", _set_pragmas)
        with engine.begin() as connection:
            version = connection.execute(text("PRAGMA user_version")).scalar_one()
            if version != SCHEMA_VERSION:
                Base.metadata.drop_all(connection)
        Base.metadata.create_all(engine)
        with Session(engine) as session, session.begin():
            if session.execute(select(CustomerRow.id).limit(1)).first() is None:
                rows = demo_rows(self._now())
                # Table by table: the rows have keys but no relationships, so the
                # unit of work would not order the inserts by itself.
                for table in Base.metadata.sorted_tables:
                    session.add_all(row for row in rows if row_table(row) is table)
                    session.flush()
            session.execute(text(f"PRAGMA user_version = {SCHEMA_VERSION}"))
        return engine

    def _now(self) -> dt.datetime:
        return stored_time(self._clock())

    # Queries.

    def _find_customer_by_phone(self, phone_number: str) -> Customer | None:
        with self._session() as session:
            row = session.execute(
                select(CustomerRow).where(CustomerRow.phone_number == phone_number)
            ).scalar_one_or_none()
        return None if row is None else customer_from_row(row)

    def _customer(self, customer_id: int) -> Customer | None:
        with self._session() as session:
            row = session.get(CustomerRow, customer_id)
        return None if row is None else customer_from_row(row)

    def _send_verification_code(self, customer_id: int) -> CodeSent:
        now = self._now()
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        salt = secrets.token_hex(8)
        expires_at = now + CODE_LIFETIME
        with self._session() as session, session.begin():
            customer = session.get(CustomerRow, customer_id)
            if customer is None:
                raise BackendUnavailable(f"no customer {customer_id}")
            session.execute(
                update(VerificationCodeRow)
                .where(VerificationCodeRow.customer_id == customer_id)
                .values(spent=True)
            )
            session.add(
                VerificationCodeRow(
                    customer_id=customer_id,
                    code_hash=hash_code(code, salt),
                    salt=salt,
                    created_at=now,
                    expires_at=expires_at,
                    attempts=0,
                    spent=False,
                )
            )
            phone_number = str(customer.phone_number)
        expiry = answered_time(expires_at)
        self._outbox.deliver(
            phone_number,
            code_message(code, expiry.astimezone(self._time_zone)),
            answered_time(now),
        )
        return CodeSent(expires_at=expiry)

    def _check_verification_code(self, customer_id: int, code: str) -> CodeCheckResult:
        now = self._now()
        with self._session() as session, session.begin():
            row = session.execute(
                select(VerificationCodeRow)
                .where(VerificationCodeRow.customer_id == customer_id)
                .order_by(VerificationCodeRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if row is None or (row.spent and row.attempts < MAX_CODE_ATTEMPTS):
                return CodeCheckResult(CodeCheck.NO_CODE, 0)
            if row.attempts >= MAX_CODE_ATTEMPTS:
                return CodeCheckResult(CodeCheck.TOO_MANY_ATTEMPTS, 0)
            if now >= row.expires_at:
                row.spent = True
                return CodeCheckResult(CodeCheck.EXPIRED, 0)
            row.attempts += 1
            attempts_left = MAX_CODE_ATTEMPTS - row.attempts
            # Constant-time comparison: the hashes must not leak by timing.
            if hmac.compare_digest(row.code_hash, hash_code(code, row.salt)):
                row.spent = True
                return CodeCheckResult(CodeCheck.VERIFIED, attempts_left)
            if attempts_left == 0:
                row.spent = True
                return CodeCheckResult(CodeCheck.TOO_MANY_ATTEMPTS, 0)
            return CodeCheckResult(CodeCheck.WRONG, attempts_left)

    def _recent_bills(self, customer_id: int, months: int) -> list[Bill]:
        with self._session() as session:
            bills = (
                session.execute(
                    select(BillRow)
                    .where(BillRow.customer_id == customer_id)
                    .order_by(BillRow.period.desc())
                    .limit(months)
                )
                .scalars()
                .all()
            )
            items = (
                session.execute(
                    select(BillItemRow)
                    .where(BillItemRow.bill_id.in_([bill.id for bill in bills]))
                    .order_by(BillItemRow.id)
                )
                .scalars()
                .all()
            )
        return [
            Bill(
                period=bill.period,
                amount_won=bill.amount_won,
                due_date=bill.due_date,
                paid=bill.paid,
                items=tuple(
                    BillItem(
                        code=item.code,
                        label_ko=item.label_ko,
                        label_en=item.label_en,
                        amount_won=item.amount_won,
                    )
                    for item in items
                    if item.bill_id == bill.id
                ),
            )
            for bill in bills
        ]

    def _payment_account(self, customer_id: int) -> PaymentAccount | None:
        with self._session() as session:
            row = session.get(PaymentAccountRow, customer_id)
        return None if row is None else payment_account_from_row(row)

    def _change_autopay_day(self, customer_id: int, day: int) -> PaymentAccount:
        if not 1 <= day <= 28:
            raise ValueError(f"auto-pay day must be 1-28, not {day}")
        with self._session() as session, session.begin():
            row = session.get(PaymentAccountRow, customer_id)
            if row is None or row.method == "giro":
                raise ValueError(f"customer {customer_id} has no automatic payment")
            row.autopay_day = day
            return payment_account_from_row(row)

    def _plans(self) -> list[Plan]:
        with self._session() as session:
            rows = (
                session.execute(
                    select(PlanRow).order_by(PlanRow.kind, PlanRow.monthly_won)
                )
                .scalars()
                .all()
            )
        return [
            Plan(
                name=row.name,
                name_en=row.name_en,
                kind=row.kind,
                monthly_won=row.monthly_won,
                data_gb=row.data_gb,
                summary_ko=row.summary_ko,
                summary_en=row.summary_en,
            )
            for row in rows
        ]

    def _data_usage(self, customer_id: int, months: int) -> list[DataUsage]:
        with self._session() as session:
            rows = (
                session.execute(
                    select(DataUsageRow)
                    .where(DataUsageRow.customer_id == customer_id)
                    .order_by(DataUsageRow.period.desc())
                    .limit(months)
                )
                .scalars()
                .all()
            )
        return [DataUsage(period=row.period, used_mb=row.used_mb) for row in rows]

    def _create_order(self, request: OrderRequest) -> Order:
        now = self._now()
        order_day = answered_time(now).astimezone(self._time_zone).date()
        with self._session() as session, session.begin():
            if session.get(PlanRow, request.plan_name) is None:
                raise ValueError(f"unknown plan {request.plan_name!r}")
            count = session.execute(
                select(func.count(OrderRow.id)).where(
                    OrderRow.order_number.like(f"TD-{order_day:%Y%m%d}-%")
                )
            ).scalar_one()
            order_number = f"TD-{order_day:%Y%m%d}-{count + 1:04d}"
            session.add(
                OrderRow(
                    order_number=order_number,
                    plan_name=request.plan_name,
                    name=request.name,
                    contact_phone=request.contact_phone,
                    address=request.address,
                    install_date=request.install_date,
                    language=request.language,
                    created_at=now,
                    status="received",
                )
            )
        return Order(
            order_number=order_number,
            plan_name=request.plan_name,
            install_date=request.install_date,
        )

    def _active_outages(self, district: str) -> list[Outage]:
        now = self._now()
        with self._session() as session:
            rows = (
                session.execute(
                    select(OutageRow)
                    .where(
                        OutageRow.district == district,
                        OutageRow.started_at <= now,
                        (OutageRow.ended_at.is_(None)) | (OutageRow.ended_at > now),
                    )
                    .order_by(OutageRow.started_at)
                )
                .scalars()
                .all()
            )
        return [
            Outage(
                district=row.district,
                service=row.service,
                started_at=answered_time(row.started_at),
                # An estimate already passed is no estimate.
                expected_end=(
                    answered_time(row.expected_end)
                    if row.expected_end and row.expected_end > now
                    else None
                ),
                cause_ko=row.cause_ko,
                cause_en=row.cause_en,
            )
            for row in rows
        ]


def row_table(row: Base) -> Table:
    return cast(Table, row.__table__)  # type: ignore[attr-defined]


def customer_from_row(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        name=row.name,
        phone_number=row.phone_number,
        plan_name=row.plan_name,
    )


def payment_account_from_row(row: PaymentAccountRow) -> PaymentAccount:
    return PaymentAccount(
        method=row.method, detail=row.detail, autopay_day=row.autopay_day
    )
