"""The bot's responses with their Korean particles fitted to what is filled in,
through the generator Rasa loads from endpoints.yml and the real domain."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from actions.backend import PaymentAccount
from actions.payments import describe_method
from bot.korean_nlg import KoreanParticleNLG

ROOT = Path(__file__).resolve().parents[2]
# A particle that changes with the word before it, written straight after a
# value: it must be in the notation the generator resolves ("{x}(으)로").
BARE_PARTICLE = re.compile(
    r"\}(?:을|를|이|가|은|는|과|와|으로|로|예요|고|며|야|랑|라고)(?!\()"
)
NOTATION = re.compile(r"을\(를\)|은\(는\)|이\(가\)|과\(와\)|\((?:으|이)\)")


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def nlg(domain: Domain) -> KoreanParticleNLG:
    return KoreanParticleNLG(domain=domain)


def korean(nlg: KoreanParticleNLG, response: str, **values: Any) -> str:
    generated = nlg.generate_from_slots(
        response, {"language": "ko"}, "socketio", **values
    )
    assert generated is not None
    return str(generated["text"])


def test_rasa_loads_the_generator_named_in_endpoints_yml(domain: Domain) -> None:
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text("utf-8"))

    created = NaturalLanguageGenerator.create(
        EndpointConfig.from_dict(endpoints["nlg"]), domain
    )

    assert isinstance(created, KoreanParticleNLG)
    assert set(created.responses) == set(domain.responses)


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        (
            PaymentAccount("bank_transfer", "국민은행 ****9313", 25),
            "요금은 계좌 자동이체 (국민은행 ****9313)로 매월 25일에 자동 납부돼요.",
        ),
        (
            PaymentAccount("card", "신한카드 ****1234", 10),
            "요금은 카드 자동이체 (신한카드 ****1234)로 매월 10일에 자동 납부돼요.",
        ),
        (
            PaymentAccount("giro", "지로 (종이 고지서)", 1),
            "요금은 지로 납부 (지로 (종이 고지서))로 매월 1일에 자동 납부돼요.",
        ),
    ],
)
def test_the_autopay_answer_reads_right_for_every_method(
    nlg: KoreanParticleNLG, account: PaymentAccount, expected: str
) -> None:
    assert (
        korean(
            nlg,
            "utter_autopay_info",
            method=describe_method(account, "ko"),
            autopay_day=f"매월 {account.autopay_day}일",
        )
        == expected
    )


@pytest.mark.parametrize(
    ("response", "values", "expected"),
    [
        (
            "utter_invalid_phone_number",
            {"phone_number": "010-123"},
            "010-123은 휴대폰 번호 형식이 아니에요.",
        ),
        (
            "utter_invalid_phone_number",
            {"phone_number": "010-1234"},
            "010-1234는 휴대폰 번호 형식이 아니에요.",
        ),
        (
            "utter_my_plan",
            {
                "plan": "5G 스탠다드",
                "monthly": "69,000원",
                "allowance": "150GB",
                "used": "12.5GB",
                "left": "137.5GB",
            },
            "지금 쓰시는 요금제는 5G 스탠다드(월 69,000원)예요.",
        ),
        (
            "utter_my_plan",
            {
                "plan": "5G 슬림",
                "monthly": "33,000원",
                "allowance": "10GB",
                "used": "1.4GB",
                "left": "8.6GB",
            },
            "지금 쓰시는 요금제는 5G 슬림(월 33,000원)이에요. "
            "이번 달 데이터 10GB 중 1.4GB를 쓰셨고",
        ),
        (
            "utter_bill_unchanged",
            {
                "period": "2026년 11월",
                "amount": "55,000원",
                "previous_period": "2026년 10월",
            },
            "2026년 11월 요금은 55,000원으로 2026년 10월과 같아요.",
        ),
        (
            "utter_signup_done",
            {"order_number": "TD-20261203-0002", "install_date": "12월 5일"},
            "주문번호는 TD-20261203-0002예요.",
        ),
        (
            "utter_outage",
            {
                "district": "강남구",
                "service": "인터넷",
                "cause": "광케이블 보수 공사",
                "since": "오전 9시",
                "expected_end": "오후 3시",
            },
            "원인은 광케이블 보수 공사고 오전 9시부터 발생했어요.",
        ),
    ],
)
def test_particles_after_filled_in_values_fit_them(
    nlg: KoreanParticleNLG, response: str, values: dict[str, str], expected: str
) -> None:
    if response not in nlg.responses:
        pytest.fail(f"{response} is not in domain.yml")
    assert expected in korean(nlg, response, **values)


def test_english_responses_are_left_as_they_are(nlg: KoreanParticleNLG) -> None:
    generated = nlg.generate_from_slots(
        "utter_autopay_info",
        {"language": "en"},
        "socketio",
        method="automatic bank transfer (국민은행 ****9313)",
        autopay_day="the 25th",
    )

    assert generated is not None
    assert generated["text"] == (
        "It is paid by automatic bank transfer (국민은행 ****9313) on the 25th "
        "of each month."
    )


def test_no_korean_response_writes_a_changing_particle_bare_after_a_value(
    domain: Domain,
) -> None:
    bare = [
        (name, variation["text"])
        for name, variations in domain.responses.items()
        for variation in variations
        if BARE_PARTICLE.search(variation.get("text") or "")
    ]
    assert bare == []


def test_every_korean_response_reads_without_the_notation_once_filled(
    domain: Domain, nlg: KoreanParticleNLG
) -> None:
    # Every value a readable word: whatever the response, no "(으)로" is left.
    slots: defaultdict[str, Any] = defaultdict(lambda: "요금제", language="ko")
    left = {}
    for name in domain.responses:
        generated = nlg.generate_from_slots(name, slots, "socketio")
        text = str((generated or {}).get("text") or "")
        if NOTATION.search(text):
            left[name] = text
    assert left == {}


def test_button_titles_are_resolved_too() -> None:
    nlg = KoreanParticleNLG(
        domain=Domain.from_dict(
            {
                "responses": {
                    "utter_choose": [
                        {
                            "text": "{plan}(으)로 바꿀까요?",
                            "buttons": [
                                {"title": "{plan}(으)로 변경", "payload": "/affirm"}
                            ],
                        }
                    ]
                }
            }
        )
    )

    generated = nlg.generate_from_slots("utter_choose", {}, "socketio", plan="5G 슬림")

    assert generated is not None
    assert generated["text"] == "5G 슬림으로 바꿀까요?"
    assert generated["buttons"][0]["title"] == "5G 슬림으로 변경"
