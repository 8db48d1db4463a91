"""The operator's back end (billing, CRM) as the actions see it: one adapter interface.

The demo back end ships with the project; a real billing/CRM API plugs in by
implementing ``CustomerBackend`` and being built in ``actions/dependencies.py``
(docs/backend.md).
"""

from __future__ import annotations

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
]
