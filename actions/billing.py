"""Bills: the current one, the last months', and why this month's differs."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import Bill, BillItem, Customer, CustomerBackend
from actions.formatting import (
    ENGLISH,
    format_date,
    format_month,
    format_payment_status,
    format_signed_won,
    format_won,
)

HISTORY_MONTHS = 6


def language_of(tracker: Tracker) -> str:
    return str(tracker.get_slot("language") or "ko")


def item_label(item: BillItem, language: str) -> str:
    return item.label_en if language == ENGLISH else item.label_ko


def item_lines(bill: Bill, language: str) -> str:
    return "\n".join(
        f"· {item_label(item, language)}: {format_won(item.amount_won, language)}"
        for item in bill.items
    )


def item_changes(current: Bill, previous: Bill, language: str) -> list[str]:
    """One line per item that is new, gone, or charged differently."""
    before = {item.code: item for item in previous.items}
    after = {item.code: item for item in current.items}
    lines = []
    for code in [*after, *(code for code in before if code not in after)]:
        old, new = before.get(code), after.get(code)
        old_amount = old.amount_won if old else 0
        new_amount = new.amount_won if new else 0
        if old_amount == new_amount:
            continue
        label = item_label(new or old, language)  # type: ignore[arg-type]
        change = format_signed_won(new_amount - old_amount, language)
        if old is None:
            note = "new this month" if language == ENGLISH else "이번 달 새로 청구"
        elif new is None:
            note = "not charged this month" if language == ENGLISH else "이번 달 없음"
        else:
            note = (
                f"{format_won(old_amount, language)} → "
                f"{format_won(new_amount, language)}"
            )
        lines.append(f"· {label}: {change} ({note})")
    return lines


async def answer_current_bill(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    backend: CustomerBackend,
    customer: Customer,
) -> list[EventType]:
    language = language_of(tracker)
    bill = await backend.current_bill(customer.id)
    if bill is None:
        dispatcher.utter_message(response="utter_no_bill")
        return []
    dispatcher.utter_message(
        response="utter_current_bill",
        customer_name=customer.name,
        period=format_month(bill.period, language),
        amount=format_won(bill.amount_won, language),
        due_date=format_date(bill.due_date, language),
        payment_status=format_payment_status(bill.paid, language),
        items=item_lines(bill, language),
    )
    return []


async def answer_bill_history(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    backend: CustomerBackend,
    customer: Customer,
) -> list[EventType]:
    language = language_of(tracker)
    bills = await backend.recent_bills(customer.id, HISTORY_MONTHS)
    if not bills:
        dispatcher.utter_message(response="utter_no_bill")
        return []
    lines = "\n".join(
        f"· {format_month(bill.period, language)}: "
        f"{format_won(bill.amount_won, language)} "
        f"({format_payment_status(bill.paid, language)})"
        for bill in bills
    )
    dispatcher.utter_message(
        response="utter_bill_history", months=len(bills), bills=lines
    )
    return []


async def answer_bill_change(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    backend: CustomerBackend,
    customer: Customer,
) -> list[EventType]:
    """ "Why is my bill higher this month?": this month against the month before,
    naming the items that changed."""
    language = language_of(tracker)
    bills = await backend.recent_bills(customer.id, 2)
    if not bills:
        dispatcher.utter_message(response="utter_no_bill")
        return []
    if len(bills) == 1:
        dispatcher.utter_message(response="utter_no_previous_bill")
        return []
    current, previous = bills
    difference = current.amount_won - previous.amount_won
    amounts = {
        "period": format_month(current.period, language),
        "previous_period": format_month(previous.period, language),
        "amount": format_won(current.amount_won, language),
        "previous_amount": format_won(previous.amount_won, language),
        "difference": format_won(abs(difference), language),
    }
    if difference == 0:
        dispatcher.utter_message(response="utter_bill_unchanged", **amounts)
        return []
    response = "utter_bill_higher" if difference > 0 else "utter_bill_lower"
    changes = "\n".join(item_changes(current, previous, language))
    dispatcher.utter_message(response=response, changes=changes, **amounts)
    return []
