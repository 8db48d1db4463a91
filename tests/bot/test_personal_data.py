import socket
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.handoff_context import transcript
from bot.personal_data import (
    DEFAULT_PATTERNS_FILE,
    PersonalDataMasker,
    mask_event,
    read_kinds,
    rrn_is_valid,
)


@pytest.fixture(scope="module")
def masker() -> PersonalDataMasker:
    return PersonalDataMasker(read_kinds(DEFAULT_PATTERNS_FILE))


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # Resident registration numbers: valid date and check digit.
        ("주민번호는 940921-1234560입니다", "주민번호는 9409**-*******입니다"),
        ("my RRN is 8503152123450", "my RRN is 8503*********"),
        # Cards that pass Luhn, spaced, hyphenated, run together, Amex.
        ("카드번호 4111 1111 1111 1111이요", "카드번호 **** **** **** 1111이요"),
        ("card 5500-0000-0000-0004 please", "card ****-****-****-0004 please"),
        ("4012888888881881로 결제", "************1881로 결제"),
        ("amex 3782 822463 10005", "amex **** ****** *0005"),
        # Phone numbers, Korean and international.
        ("제 번호는 010-1234-5678이에요", "제 번호는 010-****-5678이에요"),
        ("call me on 01098765432", "call me on 010****5432"),
        ("사무실 02-312-4567로 주세요", "사무실 02-3**-4567로 주세요"),
        ("reach me at +82 10 2345 6789", "reach me at +82 1* **** 6789"),
        ("my US number is +1 415 555 0132", "my US number is +1 41* *** 0132"),
        # Korean bank accounts.
        ("환불 계좌는 110-123-456789입니다", "환불 계좌는 ***-***-**6789입니다"),
        ("account 123456-78-901234 at KB", "account ******-**-**1234 at KB"),
    ],
)
def test_personal_data_is_masked(
    masker: PersonalDataMasker, text: str, masked: str
) -> None:
    assert masker.mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        # A wrong RRN check digit, and a 13th month.
        "주민번호 940921-1234567",
        "RRN 941321-1234567",
        # Cards that fail Luhn.
        "카드 4111 1111 1111 1112요",
        "card 1234-5678-9012-3456",
        # Amounts, dates, plans, order numbers, the operator's own numbers.
        "이번 달 요금은 89,000원이고 2024-03-15에 결제됐어요",
        "5G 프리미엄 요금제 and the 100GB plan",
        "주문번호 ORD-2024-123456 배송 조회",
        "order 1234567890 shipped on 2024/03/15",
        "고객센터 1588-0010 또는 114로 전화",
    ],
)
def test_near_misses_stay_as_they_are(masker: PersonalDataMasker, text: str) -> None:
    assert masker.mask(text) == text


def test_rrn_check_digit_and_date() -> None:
    assert rrn_is_valid("940921-1234560")
    assert not rrn_is_valid("940921-1234561")
    # 29 February exists in 2000 (century digit 3), not in 1900 (digit 1).
    assert rrn_is_valid("000229-3000001")
    assert not rrn_is_valid("000229-1000006")


def test_detection_fetches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any) -> None:
        raise AssertionError("personal data detection opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    masker = PersonalDataMasker(read_kinds(DEFAULT_PATTERNS_FILE))
    text = "mail kim@example.co.kr, see https://tandem.example.com, 010-1234-5678"
    assert masker.mask(text).endswith("010-****-5678")


def test_the_text_of_user_and_bot_events_is_masked(masker: PersonalDataMasker) -> None:
    slot = {"event": "slot", "name": "phone_number", "value": "010-1234-5678"}
    assert mask_event(slot, masker) == slot
    bot = {"event": "bot", "text": "010-1234-5678 번호를 찾지 못했어요"}
    assert mask_event(bot, masker) == {
        **bot,
        "text": "010-****-5678 번호를 찾지 못했어요",
    }
    user = {"event": "user", "text": "010-1234-5678", "parse_data": None}
    assert mask_event(user, masker) == {**user, "text": "010-****-5678"}


def test_an_unknown_checksum_is_refused() -> None:
    path = Path(__file__).parent.parent / "pii/unknown_checksum.yml"
    with pytest.raises(ValueError, match="X: unknown checksum 'crc'"):
        PersonalDataMasker(read_kinds(path))


def test_the_handoff_transcript_is_masked_and_the_slot_is_not() -> None:
    tracker = Tracker(
        "c0ffee",
        {"phone_number": "01012345678"},
        {},
        [
            {"event": "user", "text": "카드 4111 1111 1111 1111 분실", "timestamp": 1},
            {
                "event": "bot",
                "text": "010-1234-5678 번호를 찾지 못했어요",
                "timestamp": 2,
            },
        ],
        False,
        None,
        {},
        None,
    )

    assert [turn["text"] for turn in transcript(tracker)] == [
        "카드 **** **** **** 1111 분실",
        "010-****-5678 번호를 찾지 못했어요",
    ]
    assert tracker.get_slot("phone_number") == "01012345678"
