"""Korean particles that fit the word before them.

Many Korean particles have two forms, chosen by the last sound of the word they
follow: a final consonant (batchim) takes 을, 이, 은, 과, 으로, 이에요; a vowel takes
를, 가, 는, 와, 로, 예요; and ㄹ takes 로 like a vowel. A response that fills in a
plan name, an amount or an account number cannot know that sound in advance, so
it used to print both forms ("국민은행 ****9313(으)로"). Here the word's last sound
is found the way it is read aloud:

- Hangul by the final consonant of its last syllable (슬림 → ㅁ, 자동이체 → none,
  매월 15일 → ㄹ); a lone jamo by its name (ㄱ 기역, ㄹ 리을).
- Digits by their Sino-Korean reading: 3 삼, 9313 구천삼백십삼, 20 이십, 300 삼백,
  5,000 오천, 10,000 만, a trillion 조; 0 alone, a number written with a leading
  zero (read digit by digit) and the digit after a decimal point by 영/공.
- Latin letters after a number as the unit they stand for (10GB 기가바이트, 500M
  메가, 1G 기가, 2kg 킬로그램); an acronym by its letters' names (KT 케이티, LTE
  엘티이, USIM 유에스아이엠); another word as Korean usually writes it, by its last
  letters (Kim 킴, Mina 미나, Jane 제인, Paul 폴, Internet 인터넷, Smart 스마트).
- Masking characters (``*``, ``•``) and punctuation are not read: the particle
  follows what is written before them (``010-****-5678`` ends in 팔).
- After a closing bracket the particle fits the word before the brackets, as Korean
  spelling wants it ("자동이체(국민은행 ****9313)로", "커피(coffee)를"); a bracket
  with nothing before it counts by what it holds. After a closing quote it fits the
  quoted words ("'상담원 연결'이라고").

A word whose last sound cannot be known (only symbols, or Chinese characters) keeps
both forms in the usual notation, "(으)로", "을(를)".

Responses write a particle after a filled-in value in that same notation
(``{method}(으)로``, ``{plan}이(가)``, ``{order_number}(이)에요``); ``resolve``
replaces each by the form that fits the text before it. ``bot/korean_nlg.py`` does
it for every response the bot sends.
"""

from __future__ import annotations

import enum
import re
import unicodedata


class Sound(enum.Enum):
    """How a word ends, as far as particles care."""

    VOWEL = "vowel"
    CONSONANT = "consonant"  # any final consonant but ㄹ
    RIEUL = "rieul"  # ㄹ: a consonant, yet (으)로 takes 로 after it
    UNKNOWN = "unknown"


_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_FINAL_COUNT = 28
_FINAL_RIEUL = 8
# Jamo written alone (after NFKC, the compatibility jamo ㄱ…ㅣ are conjoining ones).
_CONSONANT_JAMO = ((0x1100, 0x1112), (0x11A8, 0x11C2))
_VOWEL_JAMO = (0x1161, 0x1175)
_RIEUL_JAMO = frozenset({0x1105, 0x11AF})

# Sino-Korean readings of the digits: 영 일 이 삼 사 오 육 칠 팔 구.
_DIGIT_SOUNDS = {
    "0": Sound.CONSONANT,
    "1": Sound.RIEUL,
    "2": Sound.VOWEL,
    "3": Sound.CONSONANT,
    "4": Sound.VOWEL,
    "5": Sound.VOWEL,
    "6": Sound.CONSONANT,
    "7": Sound.RIEUL,
    "8": Sound.RIEUL,
    "9": Sound.VOWEL,
}
# A round number ends in its last unit: 십, 백, 천 below ten thousand, and above
# it the word of its group of four zeros (만, 억, 조, 경, 해): 십만, 오천억.
_UNIT_SOUNDS = {1: Sound.CONSONANT, 2: Sound.CONSONANT, 3: Sound.CONSONANT}
_GROUP_SOUNDS = {
    1: Sound.CONSONANT,  # 만
    2: Sound.CONSONANT,  # 억
    3: Sound.VOWEL,  # 조
    4: Sound.CONSONANT,  # 경
    5: Sound.VOWEL,  # 해
}

# Units written after a number, read by their Korean names: 기가(바이트), 메가,
# 킬로, 테라, …(비피에스), …(헤르츠), …미터; the grams (그램) end in a consonant.
_VOWEL_UNITS = frozenset(
    {"G", "M", "K", "T", "GB", "MB", "KB", "TB", "GBPS", "MBPS", "KBPS"}
    | {"GHZ", "MHZ", "KM", "CM", "MM"}
)
_GRAM_UNITS = frozenset({"g", "kg", "mg"})
# Names of the Latin letters; only 엘, 엠, 엔 and 알 end in a consonant.
_LETTER_NAMES = {
    "L": Sound.RIEUL,
    "M": Sound.CONSONANT,
    "N": Sound.CONSONANT,
    "R": Sound.RIEUL,
}
_LATIN_VOWELS = frozenset("aeiouy")
# A voiceless stop after a short vowel is written as a final consonant in Korean
# (cat 캣, top 톱, book 북, magic 매직); elsewhere it takes 으 (smart 스마트).
_SHORT_VOWEL_STOPS = frozenset("ptkc")

# After brackets the particle fits the word before them; quotes are see-through.
_ASIDE_BRACKETS = {")": "(", "]": "[", "}": "{", "〉": "〈", "》": "《", "】": "【"}
_QUOTES = frozenset("'\"‘’“”«»「」『』")


def last_sound(word: str) -> Sound:
    """How ``word`` ends when read aloud."""
    text = unicodedata.normalize("NFKC", word)
    end = len(text)
    while end > 0:
        char = text[end - 1]
        if char in _ASIDE_BRACKETS:
            opening = _matching_bracket(text, end - 1)
            if opening is None:
                end -= 1
                continue
            before = last_sound(text[:opening])
            if before is not Sound.UNKNOWN:
                return before
            return last_sound(text[opening + 1 : end - 1])
        if char in _QUOTES:
            end -= 1
            continue
        sound = _sound_of_token(text[:end])
        if sound is not None:
            return sound
        end -= 1
    return Sound.UNKNOWN


def _matching_bracket(text: str, closing_at: int) -> int | None:
    closing = text[closing_at]
    opening = _ASIDE_BRACKETS[closing]
    depth = 0
    for index in range(closing_at, -1, -1):
        if text[index] == closing:
            depth += 1
        elif text[index] == opening:
            depth -= 1
            if depth == 0:
                return index
    return None


def _sound_of_token(text: str) -> Sound | None:
    """The sound of the token ``text`` ends with; None when its last character is
    not read (punctuation, masks, spaces, emoji)."""
    char = text[-1]
    code = ord(char)
    if _is_syllable(char):
        final = (code - _HANGUL_FIRST) % _FINAL_COUNT
        if final == 0:
            return Sound.VOWEL
        return Sound.RIEUL if final == _FINAL_RIEUL else Sound.CONSONANT
    if code in _RIEUL_JAMO:
        return Sound.RIEUL  # 리을
    if any(first <= code <= last for first, last in _CONSONANT_JAMO):
        return Sound.CONSONANT  # 기역, 니은, … 히읗
    if _VOWEL_JAMO[0] <= code <= _VOWEL_JAMO[1]:
        return Sound.VOWEL
    if char == "%":
        return Sound.VOWEL  # 퍼센트
    if _is_digit(char):
        return _number_sound(text)
    if char.isascii() and char.isalpha():
        return _latin_sound(text)
    if unicodedata.category(char).startswith(("L", "N")):
        return Sound.UNKNOWN
    return None


def _is_syllable(char: str) -> bool:
    return _HANGUL_FIRST <= ord(char) <= _HANGUL_LAST


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _number_sound(text: str) -> Sound:
    start = len(text)
    while start > 0 and (
        _is_digit(text[start - 1])
        or (text[start - 1] in ",." and start >= 2 and _is_digit(text[start - 2]))
    ):
        start -= 1
    whole, point, fraction = text[start:].partition(".")
    if point and fraction:
        return _DIGIT_SOUNDS[fraction[-1]]  # 일 점 오
    digits = whole.replace(",", "")
    if digits[-1] != "0" or len(digits) == 1 or digits[0] == "0":
        # The last digit's own name; also for 0 alone and for numbers written
        # with a leading zero (010, 0310), which are read digit by digit.
        return _DIGIT_SOUNDS[digits[-1]]
    zeros = len(digits) - len(digits.rstrip("0"))
    if zeros < 4:
        return _UNIT_SOUNDS[zeros]
    return _GROUP_SOUNDS.get(zeros // 4, Sound.UNKNOWN)


def _latin_sound(text: str) -> Sound:
    start = len(text)
    while start > 0 and text[start - 1].isascii() and text[start - 1].isalpha():
        start -= 1
    token = text[start:]
    if start > 0 and _is_digit(text[start - 1]):
        if token in _GRAM_UNITS:
            return Sound.CONSONANT
        if token.upper() in _VOWEL_UNITS:
            return Sound.VOWEL
    if token.isupper() or len(token) == 1:
        return _LETTER_NAMES.get(token[-1].upper(), Sound.VOWEL)
    return _english_word_sound(token.lower())


def _english_word_sound(word: str) -> Sound:
    """How Korean usually writes the end of an English word."""
    if word.endswith(("l", "le")):
        return Sound.RIEUL  # 폴, 데일, 애플, 구글
    if word.endswith(("m", "n", "ng", "ck")):
        return Sound.CONSONANT  # 킴, 존, 킹, 잭
    last = word[-1]
    if last in _SHORT_VOWEL_STOPS and _after_short_vowel(word[:-1]):
        return Sound.CONSONANT  # 킷, 톱, 북, 인터넷, 매직
    if word.endswith(("me", "ne")) and len(word) >= 3 and word[-3] in _LATIN_VOWELS:
        return Sound.CONSONANT  # a silent e: 타임, 제인, 라인
    return Sound.VOWEL


def _after_short_vowel(stem: str) -> bool:
    if stem.endswith("oo"):
        return True
    return stem[-1:] in _LATIN_VOWELS - {"y"} and (
        len(stem) == 1 or stem[-2] not in _LATIN_VOWELS
    )


# Particles given by their form after a consonant, with the form after a vowel.
_PAIRS = {"을": "를", "은": "는", "이": "가", "과": "와", "아": "야"}
_VOWEL_PAIRS = {vowel: consonant for consonant, vowel in _PAIRS.items()}


def _forms(particle: str) -> tuple[str, str]:
    """The particle's form after a consonant and after a vowel (or ㄹ for 로)."""
    if not particle or not all(_is_syllable(char) for char in particle):
        raise ValueError(f"{particle!r} is not a particle: Hangul syllables only")
    if particle in _PAIRS:
        return particle, _PAIRS[particle]
    if particle in _VOWEL_PAIRS:
        return _VOWEL_PAIRS[particle], particle
    if particle.startswith("으로"):
        return particle, particle[1:]
    if particle.startswith("로"):
        return "으" + particle, particle
    if particle.startswith("이에요"):
        return particle, "예요" + particle.removeprefix("이에요")
    if particle.startswith("예요"):
        return "이에요" + particle.removeprefix("예요"), particle
    if particle.startswith("이었"):
        return particle, "였" + particle.removeprefix("이었")
    if particle.startswith("였"):
        return "이었" + particle.removeprefix("였"), particle
    if particle.startswith("이") and len(particle) > 1:
        # The copula's 이 drops after a vowel: 이고/고, 이며/며, 이라고/라고.
        return particle, particle[1:]
    raise ValueError(f"{particle!r} is not a particle that changes with the word")


def _both(particle: str) -> str:
    """Both forms in the usual notation, for a word whose sound is unknown."""
    consonant, vowel = _forms(particle)
    if consonant in ("으" + vowel, "이" + vowel):
        return f"({consonant[0]}){vowel}"
    if consonant == "이에요" + vowel.removeprefix("예요"):
        return "(이)에요" + vowel.removeprefix("예요")
    return f"{consonant}({vowel})"


def particle(word: str, particle: str) -> str:
    """The form of ``particle`` (either form may be given) that follows ``word``:
    ``particle("9313", "로") == "으로"``, ``particle("5G 프리미어", "이에요")
    == "예요"``."""
    consonant, vowel = _forms(particle)
    sound = last_sound(word)
    if sound is Sound.UNKNOWN:
        return _both(particle)
    if sound is Sound.VOWEL:
        return vowel
    if sound is Sound.RIEUL and consonant.startswith("으로"):
        return vowel
    return consonant


def with_particle(word: str, particle_form: str) -> str:
    """``word`` followed by the form of the particle that fits it."""
    return word + particle(word, particle_form)


# "을(를)", "은(는)", "이(가)", "과(와)", "아(야)", and "(으)로…", "(이)에요", "(이)고"…
_NOTATION = re.compile(
    r"(?P<pair>을\(를\)|은\(는\)|이\(가\)|과\(와\)|아\(야\))"
    r"|\((?P<optional>[으이])\)(?P<rest>[\uac00-\ud7a3]+)"
)


def resolve(text: str) -> str:
    """``text`` with every particle written in both forms ("{value}(으)로") replaced
    by the form that fits what comes before it; left as it is when that is unknown."""
    resolved: list[str] = []
    position = 0
    for match in _NOTATION.finditer(text):
        resolved.append(text[position : match.start()])
        if match.group("pair"):
            given = match.group("pair")[0]
        else:
            given = match.group("optional") + match.group("rest")
        before = "".join(resolved)
        if last_sound(before) is Sound.UNKNOWN:
            resolved.append(match.group(0))
        else:
            resolved.append(particle(before, given))
        position = match.end()
    resolved.append(text[position:])
    return "".join(resolved)
