import json
from pathlib import Path

import pytest
from spacy.language import Language

from bot.spacy_pipeline import build_pipeline, load_patterns


@pytest.fixture(scope="module")
def nlp() -> Language:
    return build_pipeline()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("제 번호는 010-1234-5678 이에요", [("010-1234-5678", "phone_number")]),
        ("010-1234-5678이에요", [("010-1234-5678", "phone_number")]),
        ("010 1234 5678로 조회해줘", [("010 1234 5678", "phone_number")]),
        ("+82 10 1234 5678", [("+82 10 1234 5678", "phone_number")]),
        ("my number is 01012345678.", [("01012345678", "phone_number")]),
        ("요금이 55,000원이나 나왔어요", [("55,000원", "amount")]),
        ("5만 원", [("5만 원", "amount")]),
        ("5만원만 내면 돼요?", [("5만원", "amount")]),
        ("3만5천원", [("3만5천원", "amount")]),
        ("₩55,000 charged", [("₩55,000", "amount")]),
        ("charged $30.50 twice", [("$30.50", "amount")]),
        ("30 dollars", [("30 dollars", "amount")]),
        ("10,000 won", [("10,000 won", "amount")]),
        ("상담원 연결해 주세요", []),
        ("5G 슬림으로 가입할래요", [("5G 슬림으로", "plan_name")]),
        (
            "compare 5G Slim and 5G Standard",
            [("5G Slim", "plan_name"), ("5G Standard", "plan_name")],
        ),
        (
            "LTE 데이터 33이랑 시니어",
            [("LTE 데이터 33", "plan_name"), ("시니어", "plan_name")],
        ),
        ("기가 인터넷 500M이요", [("기가 인터넷 500M이요", "plan_name")]),
        ("Giga Internet 1G please", [("Giga Internet 1G", "plan_name")]),
        ("5G 요금제 뭐 있어요", []),
        ("강남구에 장애 있어요?", [("강남구에", "district")]),
        ("any outages in Gangnam", [("Gangnam", "district")]),
        ("is the network down in Mapo-gu", [("Mapo", "district")]),
        ("해운대 쪽", [("해운대", "district")]),
        ("수영장 근처", []),
        ("인증번호 123456이에요", [("123456", "otp_code")]),
        ("my code is 384920", [("384920", "otp_code")]),
        ("12345", []),
        ("2024년 3월", []),
    ],
)
def test_entities(nlp: Language, text: str, expected: list[tuple[str, str]]) -> None:
    assert [(ent.text, ent.label_) for ent in nlp(text).ents] == expected


def test_pipeline_survives_a_round_trip_to_disk(nlp: Language, tmp_path: Path) -> None:
    import spacy

    nlp.to_disk(tmp_path / "tandem")
    loaded = spacy.load(tmp_path / "tandem")
    assert [ent.text for ent in loaded("번호 010-1234-5678이요").ents] == [
        "010-1234-5678"
    ]


def test_bad_pattern_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "broken.jsonl").write_text(
        json.dumps({"label": "x", "pattern": "y"}) + "\n{not json\n", "utf-8"
    )
    with pytest.raises(ValueError, match=r"broken\.jsonl:2"):
        load_patterns(tmp_path)


def test_pattern_without_label_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text(json.dumps({"pattern": "y"}), "utf-8")
    with pytest.raises(ValueError, match="needs 'label'"):
        load_patterns(tmp_path)
