"""Korean particles chosen by how the word before them is read."""

from __future__ import annotations

import pytest

from bot.korean_particles import Sound, last_sound, particle, resolve, with_particle

C, V, L, U = Sound.CONSONANT, Sound.VOWEL, Sound.RIEUL, Sound.UNKNOWN


@pytest.mark.parametrize(
    ("word", "sound"),
    [
        # Hangul: the last syllable's final consonant, ㄹ apart.
        ("슬림", C),
        ("자동이체", V),
        ("매월 15일", L),
        ("국민은행", C),
        ("강남구", V),
        ("서울", L),
        # A syllable written as separate jamo, and a lone jamo by its name.
        ("\u1109\u1173\u11af", L),  # 슬 in conjoining jamo
        ("ㅋ", C),  # 키읔
        ("ㄹ", L),  # 리을
        ("ㅏ", V),
    ],
)
def test_hangul_by_its_final_consonant(word: str, sound: Sound) -> None:
    assert last_sound(word) is sound


@pytest.mark.parametrize(
    ("number", "sound"),
    [
        ("0", C),  # 영
        ("1", L),  # 일
        ("2", V),  # 이
        ("3", C),  # 삼
        ("4", V),  # 사
        ("5", V),  # 오
        ("6", C),  # 육
        ("7", L),  # 칠
        ("8", L),  # 팔
        ("9", V),  # 구
        ("9313", C),  # 구천삼백십삼
        ("33", C),
        ("2024", V),
        ("10", C),  # 십
        ("20", C),  # 이십
        ("300", C),  # 삼백
        ("5000", C),  # 오천
        ("5,000", C),
        ("10000", C),  # 만
        ("100000", C),  # 십만
        ("1,200,000", C),  # 백이십만
        ("300000000", C),  # 삼억
        ("2000000000000", V),  # 이조
        ("30000000000000000", C),  # 삼경
        ("1.5", V),  # 일 점 오
        ("0.7", L),  # 영 점 칠
        ("2.0", C),  # 이 점 영
        ("010", C),  # 공일공, read digit by digit
        ("0310", C),
        ("TD-0001", L),
        ("55,000원", C),
    ],
)
def test_digits_by_their_sino_korean_reading(number: str, sound: Sound) -> None:
    assert last_sound(number) is sound


@pytest.mark.parametrize(
    ("word", "sound"),
    [
        ("국민은행 ****9313", C),  # …삼
        ("010-****-5678", L),  # …팔
        ("신한카드 ****1234", V),  # …사
        ("5678****", L),  # the masked digits are not read
        ("****", U),
        ("•••• 4", V),
    ],
)
def test_masked_digits_are_not_read(word: str, sound: Sound) -> None:
    assert last_sound(word) is sound


@pytest.mark.parametrize(
    ("word", "sound"),
    [
        # Units after a number, by their Korean names.
        ("10GB", V),  # 기가바이트
        ("850MB", V),
        ("1.4GB", V),
        ("기가 인터넷 500M", V),  # 메가
        ("기가 인터넷 1G", V),  # 기가
        ("500Mbps", V),
        ("2kg", C),  # 킬로그램
        ("300g", C),
        ("30%", V),  # 퍼센트
        # Acronyms by their letters' names: only L, M, N and R end in a consonant.
        ("LTE", V),
        ("KT", V),
        ("IPTV", V),
        ("USIM", C),
        ("ARS", V),
        ("URL", L),
        ("5G", V),
        ("CPU", V),
        ("A", V),
        ("R", L),
        # Words, as Korean writes them.
        ("Mina", V),  # 미나
        ("Mina Kim", C),  # 킴
        ("Joon Park", V),  # 파크
        ("John", C),  # 존
        ("Jane", C),  # 제인
        ("Paul", L),  # 폴
        ("Dale", L),  # 데일
        ("Apple", L),  # 애플
        ("Google", L),  # 구글
        ("Internet", C),  # 인터넷
        ("Premium", C),  # 프리미엄
        ("Smart", V),  # 스마트
        ("Kate", V),  # 케이트
        ("Book", C),  # 북
        ("Magic", C),  # 매직
        ("Home", C),  # 홈
        ("King", C),  # 킹
        ("Plus", V),  # 플러스
        ("Peter", V),  # 피터
        ("iPhone", C),  # 아이폰
    ],
)
def test_latin_letters_by_their_korean_reading(word: str, sound: Sound) -> None:
    assert last_sound(word) is sound


@pytest.mark.parametrize(
    ("word", "sound"),
    [
        # After brackets: the word before them, as Korean spelling wants.
        ("계좌 자동이체 (국민은행 ****9313)", V),  # 자동이체
        ("커피(coffee)", V),
        ("5G 슬림(10GB, 월 33,000원)", C),  # 슬림
        ("5G 프리미어 에센셜(월 85,000원)", L),  # 에센셜
        ("LTE 데이터 33(6GB, 월 33,000원, 11,000원 추가)", C),  # 33
        ("지로 납부 (지로 (종이 고지서))", V),  # nested
        ("[공지]", V),  # nothing before: what the brackets hold
        ("(주)", V),
        ("【9313】", C),
        # Quotes are see-through.
        ("'상담원 연결'", L),
        ("“취소”", V),
        ("「요금제」", V),
        # Punctuation and spaces at the end are not read.
        ("자동이체.", V),
        ("국민은행 ", C),
        ("슬림!!", C),
        # An unmatched bracket is just punctuation.
        ("슬림)", C),
    ],
)
def test_brackets_quotes_and_punctuation(word: str, sound: Sound) -> None:
    assert last_sound(word) is sound


@pytest.mark.parametrize("word", ["", "   ", "***", "!?", "原稿", "Привет", "😀"])
def test_a_word_that_cannot_be_read_is_unknown(word: str) -> None:
    assert last_sound(word) is U


def test_full_width_and_decomposed_text_is_read_like_its_usual_form() -> None:
    assert last_sound("９３１３") is C
    assert last_sound("ＬＴＥ") is V
    assert last_sound("（국민은행）") is C


@pytest.mark.parametrize(
    ("word", "given", "expected"),
    [
        ("슬림", "을", "을"),
        ("슬림", "를", "을"),
        ("스탠다드", "을", "를"),
        ("슬림", "이", "이"),
        ("스탠다드", "가", "가"),
        ("스탠다드", "이", "가"),
        ("슬림", "은", "은"),
        ("스탠다드", "는", "는"),
        ("2024년 3월", "와", "과"),
        ("2024년 2월", "과", "과"),
        ("어제", "과", "와"),
        ("민아", "아", "야"),
        ("준", "야", "아"),
        # 으로/로: ㄹ takes 로 like a vowel.
        ("9313", "로", "으로"),
        ("5678", "으로", "로"),
        ("매월 15일", "으로", "로"),
        ("자동이체", "으로", "로"),
        ("슬림", "로는", "으로는"),
        ("자동이체", "으로는", "로는"),
        ("국민은행", "로도", "으로도"),
        # The copula: 이에요/예요, 이었/였, and the 이 that drops after a vowel.
        ("5G 슬림", "이에요", "이에요"),
        ("5G 스탠다드", "이에요", "예요"),
        ("5G 스탠다드", "예요", "예요"),
        ("TD-0003", "이에요", "이에요"),
        ("TD-0002", "이에요", "예요"),
        ("공사", "이었어요", "였어요"),
        ("점검", "였어요", "이었어요"),
        ("공사", "이고", "고"),
        ("점검", "이고", "이고"),
        ("공사", "이며", "며"),
        ("'상담원 연결'", "이라고", "이라고"),
        ("'취소'", "이라고", "라고"),
        ("사과", "이나", "나"),
    ],
)
def test_the_particle_that_fits(word: str, given: str, expected: str) -> None:
    assert particle(word, given) == expected
    assert with_particle(word, given) == word + expected


@pytest.mark.parametrize(
    ("given", "both"),
    [
        ("을", "을(를)"),
        ("가", "이(가)"),
        ("는", "은(는)"),
        ("와", "과(와)"),
        ("로", "(으)로"),
        ("으로는", "(으)로는"),
        ("이에요", "(이)에요"),
        ("이고", "(이)고"),
    ],
)
def test_an_unreadable_word_keeps_both_forms(given: str, both: str) -> None:
    assert particle("****", given) == both


@pytest.mark.parametrize("given", ["에", "에서", "부터", "의", "", "(으)로", "ro"])
def test_a_particle_that_does_not_change_is_refused(given: str) -> None:
    with pytest.raises(ValueError):
        particle("슬림", given)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The template that once showed "(국민은행 ****9313)(으)로".
        (
            "요금은 계좌 자동이체 (국민은행 ****9313)(으)로 매월 25일에 자동 납부돼요.",
            "요금은 계좌 자동이체 (국민은행 ****9313)로 매월 25일에 자동 납부돼요.",
        ),
        ("요금은 카드 ****9313(으)로", "요금은 카드 ****9313으로"),
        ("010-12345은(는) 휴대폰 번호", "010-12345는 휴대폰 번호"),
        ("010-1234은(는) 휴대폰 번호", "010-1234는 휴대폰 번호"),
        ("0101234567은(는)", "0101234567은"),
        ("지금 요금제 5G 슬림이(가) 가장", "지금 요금제 5G 슬림이 가장"),
        ("지금 요금제 5G 스탠다드이(가) 가장", "지금 요금제 5G 스탠다드가 가장"),
        ("2024년 3월과(와) 같아요", "2024년 3월과 같아요"),
        ("2024년 4월과(와) 같아요", "2024년 4월과 같아요"),
        ("주문번호는 TD-20261203-0002(이)에요.", "주문번호는 TD-20261203-0002예요."),
        ("원인은 기지국 장비 점검(이)고 오늘", "원인은 기지국 장비 점검이고 오늘"),
        ("원인은 광케이블 보수 공사(이)고 오늘", "원인은 광케이블 보수 공사고 오늘"),
        (
            "지금 쓰시는 요금제는 5G 프리미어 에센셜(월 85,000원)(이)에요.",
            "지금 쓰시는 요금제는 5G 프리미어 에센셜(월 85,000원)이에요.",
        ),
        (
            "LTE 시니어(2GB, 월 22,000원)(으)로 바꾸시면 LTE 데이터 33(으)로는",
            "LTE 시니어(2GB, 월 22,000원)로 바꾸시면 LTE 데이터 33으로는",
        ),
        ("평균 1.4GB을(를) 쓰셨어요", "평균 1.4GB를 쓰셨어요"),
        # Several in one text, each by what comes right before it.
        ("사과을(를) 배을(를) 귤(이)고", "사과를 배를 귤이고"),
        # Unknown: both forms stay.
        ("****(으)로", "****(으)로"),
        ("(으)로 시작", "(으)로 시작"),
        # Nothing to resolve.
        ("요금은 55,000원이에요.", "요금은 55,000원이에요."),
        ("giro (paper bill)", "giro (paper bill)"),
        ("", ""),
    ],
)
def test_resolve_replaces_the_notation_in_a_filled_in_text(
    text: str, expected: str
) -> None:
    assert resolve(text) == expected
