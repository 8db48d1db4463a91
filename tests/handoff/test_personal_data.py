"""The service masks personal data that reaches it unmasked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, handoff_body, user_event

from handoff.conversation.personal_data import (
    luhn_is_valid,
    mask_personal_data,
    read_kinds,
    rrn_is_valid,
)

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("주민번호는 940921-1234560입니다", "주민번호는 9409**-*******입니다"),
        ("card 4111 1111 1111 1111 please", "card **** **** **** 1111 please"),
        ("4012888888881881로 결제", "************1881로 결제"),
        ("제 번호는 010-1234-5678이에요", "제 번호는 010-****-5678이에요"),
        ("reach me at +44 20 7946 0958", "reach me at +44 2* **** 0958"),
        ("환불 계좌는 110-123-456789입니다", "환불 계좌는 ***-***-**6789입니다"),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "주민번호 940921-1234567",
        "카드 4111 1111 1111 1112요",
        "요금은 89,000원, 2024-03-15 결제",
        "고객센터 1588-0010",
        "주문번호 ORD-2024-123456",
    ],
)
def test_near_misses_stay_as_they_are(text: str) -> None:
    assert mask_personal_data(text) == text


def test_checksums() -> None:
    assert luhn_is_valid("4111111111111111")
    assert not luhn_is_valid("4111111111111112")
    assert rrn_is_valid("0002293000001")
    assert not rrn_is_valid("0002291000006")
    assert not rrn_is_valid("9409211234567")


def test_an_unknown_checksum_is_refused() -> None:
    path = Path(__file__).parent.parent / "pii/unknown_checksum.yml"
    with pytest.raises(ValueError, match="X: unknown checksum 'crc'"):
        read_kinds(path)


async def test_stored_messages_and_transcripts_are_masked(
    client: Client, tokens: Any
) -> None:
    body = handoff_body()
    body["transcript"][0]["text"] = "카드 4111-1111-1111-1111 분실했어요"
    response = await client.post("/api/rasa/handoffs", json=body, headers=BOT_HEADERS)
    assert response.status == 201, await response.text()
    handoff_id = (await response.json())["id"]

    response = await client.post(
        "/api/rasa/events",
        json={"events": [user_event(text="제 번호 010-9876-5432로 연락 주세요")]},
        headers=BOT_HEADERS,
    )
    assert response.status == 202, await response.text()

    response = await client.get(
        f"/api/handoffs/{handoff_id}/transcript", headers=tokens["mina"]
    )
    texts = [entry["text"] for entry in (await response.json())["entries"]]
    assert texts == [
        "카드 ****-****-****-1111 분실했어요",
        "상담원을 연결해 드릴게요.",
        "제 번호 010-****-5432로 연락 주세요",
    ]
