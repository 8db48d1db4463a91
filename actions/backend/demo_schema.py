"""Tables of the demo back end (SQLite), shaped like a small billing system."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import registry
from sqlalchemy.orm.decl_api import DeclarativeMeta

demo_registry = registry()

# Bumped whenever a table changes: a demo database of another version is seeded
# again from scratch (it holds demo data only).
SCHEMA_VERSION = 2


class Base(metaclass=DeclarativeMeta):
    """Declarative base spelled out so type checkers see the keyword constructor."""

    __abstract__ = True
    registry = demo_registry
    metadata = demo_registry.metadata
    __init__ = demo_registry.constructor


class CustomerRow(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    phone_number = Column(String(20), nullable=False, unique=True, index=True)
    plan_name = Column(String(100), ForeignKey("plans.name"), nullable=False)


class PlanRow(Base):
    __tablename__ = "plans"

    name = Column(String(100), primary_key=True)
    name_en = Column(String(100), nullable=False)
    kind = Column(String(20), nullable=False)
    monthly_won = Column(Integer, nullable=False)
    data_gb = Column(Integer, nullable=True)
    summary_ko = Column(String(200), nullable=False)
    summary_en = Column(String(200), nullable=False)


class BillRow(Base):
    __tablename__ = "bills"

    id = Column(Integer, primary_key=True)
    customer_id = Column(
        Integer, ForeignKey("customers.id"), nullable=False, index=True
    )
    period = Column(Date, nullable=False)
    amount_won = Column(Integer, nullable=False)
    due_date = Column(Date, nullable=False)
    paid = Column(Boolean, nullable=False)


class BillItemRow(Base):
    __tablename__ = "bill_items"

    id = Column(Integer, primary_key=True)
    bill_id = Column(Integer, ForeignKey("bills.id"), nullable=False, index=True)
    code = Column(String(40), nullable=False)
    label_ko = Column(String(100), nullable=False)
    label_en = Column(String(100), nullable=False)
    amount_won = Column(Integer, nullable=False)


class DataUsageRow(Base):
    __tablename__ = "data_usage"

    id = Column(Integer, primary_key=True)
    customer_id = Column(
        Integer, ForeignKey("customers.id"), nullable=False, index=True
    )
    period = Column(Date, nullable=False)
    used_mb = Column(Integer, nullable=False)


class PaymentAccountRow(Base):
    __tablename__ = "payment_accounts"

    customer_id = Column(Integer, ForeignKey("customers.id"), primary_key=True)
    method = Column(String(20), nullable=False)
    detail = Column(String(100), nullable=False)
    autopay_day = Column(Integer, nullable=True)


class OrderRow(Base):
    __tablename__ = "orders"

    id = Column(Integer, primary_key=True)
    order_number = Column(String(30), nullable=False, unique=True)
    plan_name = Column(String(100), ForeignKey("plans.name"), nullable=False)
    name = Column(String(100), nullable=False)
    contact_phone = Column(String(20), nullable=False)
    address = Column(String(300), nullable=False)
    install_date = Column(Date, nullable=False)
    language = Column(String(2), nullable=False)
    created_at = Column(DateTime, nullable=False)
    status = Column(String(20), nullable=False)


class OutageRow(Base):
    __tablename__ = "outages"

    id = Column(Integer, primary_key=True)
    district = Column(String(40), nullable=False, index=True)
    service = Column(String(20), nullable=False)
    started_at = Column(DateTime, nullable=False)
    ended_at = Column(DateTime, nullable=True)
    expected_end = Column(DateTime, nullable=True)
    cause_ko = Column(String(200), nullable=False)
    cause_en = Column(String(200), nullable=False)


class VerificationCodeRow(Base):
    __tablename__ = "verification_codes"

    id = Column(Integer, primary_key=True)
    customer_id = Column(
        Integer, ForeignKey("customers.id"), nullable=False, index=True
    )
    # Only a salted hash is kept: the code itself exists in the message sent.
    code_hash = Column(String(64), nullable=False)
    salt = Column(String(32), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
    attempts = Column(Integer, nullable=False)
    spent = Column(Boolean, nullable=False)
