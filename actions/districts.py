"""Districts (구) as customers write them, in Korean or romanised."""

from __future__ import annotations

import re

# District → the ways customers write it (besides the full Korean name).
DISTRICTS = {
    "강남구": ["강남", "gangnam"],
    "강동구": ["강동", "gangdong"],
    "강북구": ["강북", "gangbuk"],
    "강서구": ["강서", "gangseo"],
    "관악구": ["관악", "gwanak"],
    "광진구": ["광진", "gwangjin"],
    "구로구": ["구로", "guro"],
    "금천구": ["금천", "geumcheon"],
    "노원구": ["노원", "nowon"],
    "도봉구": ["도봉", "dobong"],
    "동대문구": ["동대문", "dongdaemun"],
    "동작구": ["동작", "dongjak"],
    "마포구": ["마포", "mapo"],
    "서대문구": ["서대문", "seodaemun"],
    "서초구": ["서초", "seocho"],
    "성동구": ["성동", "seongdong"],
    "성북구": ["성북", "seongbuk"],
    "송파구": ["송파", "songpa"],
    "양천구": ["양천", "yangcheon"],
    "영등포구": ["영등포", "yeongdeungpo"],
    "용산구": ["용산", "yongsan"],
    "은평구": ["은평", "eunpyeong"],
    "종로구": ["종로", "jongno"],
    "중구": ["jung-gu", "junggu"],
    "중랑구": ["중랑", "jungnang"],
    "해운대구": ["해운대", "haeundae"],
    "수영구": ["광안리", "suyeong"],
    "분당구": ["분당", "bundang"],
    "수성구": ["수성", "suseong"],
    "연수구": ["송도", "yeonsu", "songdo"],
}
_ALIAS_ORDER = sorted(
    (
        (alias, district)
        for district, aliases in DISTRICTS.items()
        for alias in (district, *aliases)
    ),
    key=lambda pair: -len(pair[0]),
)
_SPACES = re.compile(r"\s+")


def find_district(text: str) -> str | None:
    """The district named in ``text`` (``"강남역 근처"`` → ``"강남구"``) or None."""
    squeezed = _SPACES.sub("", text.lower())
    for alias, district in _ALIAS_ORDER:
        if alias in squeezed:
            return district
    return None
