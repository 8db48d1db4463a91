"""Plans: catalogue, comparison, the customer's plan and data, a recommendation."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.backend import Plan
from actions.dependencies import Dependencies
from actions.plans import ActionComparePlans, ActionListPlans, recommend
from tests.bot.test_billing_actions import answer, asked
from tests.bot.tracker_fixtures import message_tracker


def plan_entities(*values: str) -> list[dict[str, Any]]:
    return [{"entity": "plan_name", "value": value} for value in values]


async def run_compare(
    dependencies: Dependencies, text: str, language: str, *entities: str
):
    dispatcher = CollectingDispatcher()
    tracker = message_tracker(
        text,
        language,
        {"language": language},
        intent="compare_plans",
        entities=plan_entities(*entities),
    )
    assert await ActionComparePlans(dependencies).run(dispatcher, tracker, {}) == []
    return dispatcher.messages


async def test_catalogue_lists_mobile_and_internet_plans(dependencies) -> None:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker("plans", "en", {"language": "en"})
    await ActionListPlans(dependencies).run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_plan_catalogue"
    mobile = message["mobile_plans"].splitlines()
    assert len(mobile) == 5
    assert mobile[0] == (
        "· LTE Senior: ₩29,700/month — ages 65 and over, 2 GB of LTE data"
    )
    assert len(message["internet_plans"].splitlines()) == 2


async def test_two_plans_are_compared(dependencies) -> None:
    [message] = await run_compare(
        dependencies, "슬림이랑 스탠다드 비교", "ko", "슬림이랑", "스탠다드"
    )
    assert message["response"] == "utter_plan_comparison"
    assert message["first"].startswith("· 5G 슬림: 55,000원/월")
    assert message["second"].startswith("· 5G 스탠다드: 75,000원/월")
    assert (message["cheaper"], message["dearer"], message["difference"]) == (
        "5G 슬림",
        "5G 스탠다드",
        "20,000원",
    )


async def test_plans_are_found_in_the_text_without_entities(dependencies) -> None:
    [message] = await run_compare(
        dependencies, "giga internet 500m vs giga internet 1g", "en"
    )
    assert message["difference"] == "₩5,500"


async def test_one_or_unknown_plans_cannot_be_compared(dependencies) -> None:
    for text, entities in [("5G 슬림 어때요", ["5G 슬림"]), ("5G 울트라 vs 6G", [])]:
        messages = await run_compare(dependencies, text, "ko", *entities)
        assert [m["response"] for m in messages] == ["utter_compare_needs_two_plans"]


async def test_catalogue_with_the_back_end_down_apologises(
    with_backend, broken_backend
) -> None:
    dependencies = with_backend(broken_backend)
    dispatcher = CollectingDispatcher()
    await ActionListPlans(dependencies).run(
        dispatcher, message_tracker("x", "ko", {}), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_backend_unavailable"]
    messages = await run_compare(
        dependencies, "슬림 스탠다드", "ko", "슬림", "스탠다드"
    )
    assert [m["response"] for m in messages] == ["utter_backend_unavailable"]


async def test_my_plan_and_the_data_left(dependencies) -> None:
    _, [message] = await answer(dependencies, asked("ask_my_plan"))
    assert message["response"] == "utter_my_plan"
    assert (message["plan"], message["monthly"]) == ("LTE 시니어", "29,700원")
    assert (message["allowance"], message["used"], message["left"]) == (
        "2GB",
        "933MB",
        "1.1GB",
    )


async def test_recommendation_from_recent_usage(dependencies) -> None:
    _, [message] = await answer(
        dependencies, asked("ask_plan_recommendation", language="en")
    )
    # 1.4 GB a month on average fits the current 2 GB plan.
    assert message["response"] == "utter_plan_recommendation_keep"
    assert (message["months"], message["average"], message["plan"]) == (
        3,
        "1.4 GB",
        "LTE Senior",
    )


def catalogue() -> list[Plan]:
    def plan(name: str, won: int, gb: int | None, kind: str = "mobile") -> Plan:
        return Plan(name, name, kind, won, gb, "", "")

    return [
        plan("small", 30_000, 2),
        plan("medium", 55_000, 10),
        plan("unlimited", 85_000, None),
        plan("fibre", 20_000, None, kind="internet"),
    ]


def test_recommend_picks_the_cheapest_plan_with_headroom() -> None:
    assert recommend(catalogue(), 1_000).name == "small"
    # 1.9 GB needs 2.3 GB with headroom: more than the small plan's 2 GB.
    assert recommend(catalogue(), 1_900).name == "medium"
    assert recommend(catalogue(), 50_000).name == "unlimited"
