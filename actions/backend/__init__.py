"""The operator's back end (billing, CRM) as the actions see it: one adapter interface.

``get_backend()`` returns the configured implementation. The demo back end ships with
the project; a real billing/CRM API plugs in by implementing ``CustomerBackend``
(docs/backend.md).
"""

from __future__ import annotations

from functools import lru_cache

from actions.backend.adapter import (
    BackendUnavailable,
    Bill,
    BillItem,
    CodeCheck,
    CodeCheckResult,
    CodeSent,
    Customer,
    CustomerBackend,
    DataUsage,
    Order,
    OrderRequest,
    Outage,
    PaymentAccount,
    Plan,
)
from actions.backend.demo import DemoBackend
from actions.settings import load_settings

__all__ = [
    "BackendUnavailable",
    "Bill",
    "BillItem",
    "CodeCheck",
    "CodeCheckResult",
    "CodeSent",
    "Customer",
    "CustomerBackend",
    "DataUsage",
    "Order",
    "OrderRequest",
    "Outage",
    "PaymentAccount",
    "Plan",
    "get_backend",
]


@lru_cache(maxsize=1)
def get_backend() -> CustomerBackend:
    settings = load_settings()
    return DemoBackend(settings.demo_backend_path, outbox_path=settings.dev_outbox_path)
