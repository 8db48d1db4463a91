"""Plans: the catalogue, comparing two plans, the customer's own plan and data left,
and a recommendation from the customer's recent data use."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import (
    BackendUnavailable,
    Customer,
    CustomerBackend,
    Plan,
)
from actions.dependencies import UsesDependencies
from actions.formatting import ENGLISH, format_data, format_won
from actions.plan_names import find_plan_names

# Months of usage a recommendation looks at, not counting the running month.
RECOMMENDATION_MONTHS = 3
# Room above the average use, so a heavier month does not hit the cap.
USAGE_HEADROOM = 1.2
MB_PER_GB = 1024


def language_of(tracker: Tracker) -> str:
    return str(tracker.get_slot("language") or "ko")


def plan_title(plan: Plan, language: str) -> str:
    return plan.name_en if language == ENGLISH else plan.name


def data_allowance(plan: Plan, language: str) -> str:
    if plan.kind == "internet":
        return "home internet" if language == ENGLISH else "집 인터넷"
    if plan.data_gb is None:
        return "unlimited data" if language == ENGLISH else "데이터 무제한"
    return (
        f"{plan.data_gb} GB of data"
        if language == ENGLISH
        else f"데이터 {plan.data_gb}GB"
    )


def plan_line(plan: Plan, language: str) -> str:
    summary = plan.summary_en if language == ENGLISH else plan.summary_ko
    per_month = "/month" if language == ENGLISH else "/월"
    return (
        f"· {plan_title(plan, language)}: "
        f"{format_won(plan.monthly_won, language)}{per_month} — {summary}"
    )


def mentioned_plans(tracker: Tracker) -> list[str]:
    """Plans named in the latest message: the entities, else the whole text."""
    entities = [
        str(entity.get("value"))
        for entity in tracker.latest_message.get("entities") or []
        if entity.get("entity") == "plan_name"
    ]
    return find_plan_names(entities or [tracker.latest_message.get("text") or ""])


class ActionListPlans(UsesDependencies, Action):
    def name(self) -> str:
        return "action_list_plans"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        language = language_of(tracker)
        try:
            catalogue = await self.dependencies.backend.plans()
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        mobile = [plan_line(p, language) for p in catalogue if p.kind == "mobile"]
        internet = [plan_line(p, language) for p in catalogue if p.kind == "internet"]
        dispatcher.utter_message(
            response="utter_plan_catalogue",
            mobile_plans="\n".join(mobile),
            internet_plans="\n".join(internet),
        )
        return []


class ActionComparePlans(UsesDependencies, Action):
    def name(self) -> str:
        return "action_compare_plans"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        language = language_of(tracker)
        names = mentioned_plans(tracker)
        if len(names) < 2:
            dispatcher.utter_message(response="utter_compare_needs_two_plans")
            return []
        try:
            catalogue = {
                plan.name: plan for plan in await self.dependencies.backend.plans()
            }
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        unknown = [name for name in names[:2] if name not in catalogue]
        if unknown:
            dispatcher.utter_message(response="utter_unknown_plan", plan=unknown[0])
            return []
        first, second = (catalogue[name] for name in names[:2])
        cheaper, dearer = sorted((first, second), key=lambda plan: plan.monthly_won)
        dispatcher.utter_message(
            response="utter_plan_comparison",
            first=plan_line(first, language),
            second=plan_line(second, language),
            cheaper=plan_title(cheaper, language),
            dearer=plan_title(dearer, language),
            difference=format_won(dearer.monthly_won - cheaper.monthly_won, language),
        )
        return []


async def answer_my_plan(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    backend: CustomerBackend,
    customer: Customer,
) -> list[EventType]:
    language = language_of(tracker)
    catalogue = {plan.name: plan for plan in await backend.plans()}
    plan = catalogue.get(customer.plan_name)
    if plan is None:
        dispatcher.utter_message(response="utter_unknown_plan", plan=customer.plan_name)
        return []
    usage = await backend.data_usage(customer.id, 1)
    used_mb = usage[0].used_mb if usage else 0
    details = {
        "plan": plan_title(plan, language),
        "monthly": format_won(plan.monthly_won, language),
        "used": format_data(used_mb, language),
    }
    if plan.data_gb is None:
        dispatcher.utter_message(response="utter_my_plan_unlimited", **details)
        return []
    left_mb = max(plan.data_gb * MB_PER_GB - used_mb, 0)
    dispatcher.utter_message(
        response="utter_my_plan",
        allowance=format_data(plan.data_gb * MB_PER_GB, language),
        left=format_data(left_mb, language),
        **details,
    )
    return []


def recommend(plans: list[Plan], average_mb: float) -> Plan:
    """The cheapest mobile plan whose allowance covers the usage with headroom."""
    mobile = sorted(
        (plan for plan in plans if plan.kind == "mobile"),
        key=lambda plan: plan.monthly_won,
    )
    needed_mb = average_mb * USAGE_HEADROOM
    for plan in mobile:
        if plan.data_gb is None or plan.data_gb * MB_PER_GB >= needed_mb:
            return plan
    return mobile[-1]


async def answer_plan_recommendation(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    backend: CustomerBackend,
    customer: Customer,
) -> list[EventType]:
    language = language_of(tracker)
    usage = await backend.data_usage(customer.id, RECOMMENDATION_MONTHS + 1)
    # The first row is the month still running; it would pull the average down.
    full_months = usage[1:]
    if not full_months:
        dispatcher.utter_message(response="utter_no_usage_history")
        return []
    catalogue = await backend.plans()
    average_mb = sum(month.used_mb for month in full_months) / len(full_months)
    best = recommend(catalogue, average_mb)
    current = next((p for p in catalogue if p.name == customer.plan_name), None)
    details = {
        "months": len(full_months),
        "average": format_data(int(average_mb), language),
        "plan": plan_title(best, language),
        "monthly": format_won(best.monthly_won, language),
        "allowance": data_allowance(best, language),
    }
    if current is None or current.name == best.name:
        dispatcher.utter_message(response="utter_plan_recommendation_keep", **details)
        return []
    difference = best.monthly_won - current.monthly_won
    dispatcher.utter_message(
        response=(
            "utter_plan_recommendation_cheaper"
            if difference < 0
            else "utter_plan_recommendation_bigger"
        ),
        current_plan=plan_title(current, language),
        difference=format_won(abs(difference), language),
        **details,
    )
    return []
