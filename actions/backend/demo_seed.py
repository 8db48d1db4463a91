"""Seed data for the demo back end: the plan catalogue, 20 customers with a year of
itemised monthly bills, their data usage and payment accounts, and outages.

The data is generated from fixed random seeds, so every installation has the same
customers; bills run up to the month of seeding so that "this month's bill" exists.
The first customer, 김민준 on 010-1234-5678, is the one the README uses.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from actions.backend.demo_schema import (
    Base,
    BillItemRow,
    BillRow,
    CustomerRow,
    DataUsageRow,
    OutageRow,
    PaymentAccountRow,
    PlanRow,
)


@dataclass(frozen=True)
class PlanSeed:
    name_en: str
    kind: str
    monthly_won: int
    data_gb: int | None
    summary_ko: str
    summary_en: str


PLANS = {
    "5G 프리미어 에센셜": PlanSeed(
        "5G Premier Essential",
        "mobile",
        85_000,
        None,
        "5G 데이터 무제한, 음성·문자 기본 제공",
        "unlimited 5G data, calls and texts included",
    ),
    "5G 스탠다드": PlanSeed(
        "5G Standard",
        "mobile",
        75_000,
        150,
        "5G 데이터 150GB, 소진 후 5Mbps",
        "150 GB of 5G data, then 5 Mbps",
    ),
    "5G 슬림": PlanSeed(
        "5G Slim",
        "mobile",
        55_000,
        10,
        "5G 데이터 10GB, 소진 후 1Mbps",
        "10 GB of 5G data, then 1 Mbps",
    ),
    "LTE 데이터 33": PlanSeed(
        "LTE Data 33",
        "mobile",
        33_000,
        6,
        "LTE 데이터 6GB, 음성·문자 기본 제공",
        "6 GB of LTE data, calls and texts included",
    ),
    "LTE 시니어": PlanSeed(
        "LTE Senior",
        "mobile",
        29_700,
        2,
        "만 65세 이상, LTE 데이터 2GB",
        "ages 65 and over, 2 GB of LTE data",
    ),
    "기가 인터넷 500M": PlanSeed(
        "Giga Internet 500M",
        "internet",
        33_000,
        None,
        "집 인터넷 최대 500Mbps, 와이파이 공유기 포함",
        "home internet up to 500 Mbps, Wi-Fi router included",
    ),
    "기가 인터넷 1G": PlanSeed(
        "Giga Internet 1G",
        "internet",
        38_500,
        None,
        "집 인터넷 최대 1Gbps, 와이파이 공유기 포함",
        "home internet up to 1 Gbps, Wi-Fi router included",
    ),
}
MOBILE_PLANS = [name for name, plan in PLANS.items() if plan.kind == "mobile"]

# Charges that come and go from month to month, by amount: (code, Korean, English).
EXTRA_CHARGES = {
    3_300: ("micropayment", "소액결제", "Mobile micropayments"),
    5_500: ("add_on", "부가서비스 (컬러링)", "Add-on service (ringback tone)"),
    11_000: ("data_top_up", "데이터 추가 충전", "Extra data top-up"),
    16_500: ("roaming", "해외 로밍", "International roaming"),
}
DISCOUNT = ("bundle_discount", "결합 할인", "Bundle discount")

NAMES = [
    "김민준",
    "이서연",
    "박지호",
    "최수아",
    "정예준",
    "강하은",
    "조도윤",
    "윤지우",
    "장시우",
    "임서윤",
    "한주원",
    "오하린",
    "서준서",
    "신채원",
    "권지안",
    "황다은",
    "안현우",
    "송유나",
    "류건우",
    "홍소율",
]
BILL_MONTHS = 12
USAGE_MONTHS = 4
DUE_DAY = 25
CARDS = ["신한카드", "국민카드", "현대카드", "삼성카드"]
BANKS = ["국민은행", "신한은행", "우리은행", "하나은행"]
AUTOPAY_DAYS = [10, 15, 20, 25]


def month_start(day: dt.date, months_back: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 - months_back
    return dt.date(month_index // 12, month_index % 12 + 1, 1)


def plan_rows() -> list[PlanRow]:
    return [
        PlanRow(
            name=name,
            name_en=plan.name_en,
            kind=plan.kind,
            monthly_won=plan.monthly_won,
            data_gb=plan.data_gb,
            summary_ko=plan.summary_ko,
            summary_en=plan.summary_en,
        )
        for name, plan in PLANS.items()
    ]


def bill_items(
    plan_name: str, extras: int, discount: int
) -> list[tuple[str, str, str, int]]:
    plan = PLANS[plan_name]
    items = [
        (
            "plan_fee",
            f"{plan_name} 월정액",
            f"{plan.name_en} monthly fee",
            plan.monthly_won,
        )
    ]
    if extras:
        items.append((*EXTRA_CHARGES[extras], extras))
    if discount:
        items.append((*DISCOUNT, -discount))
    return items


def customer_rows(today: dt.date) -> list[Base]:
    """Customers with their bills and bill items, all linked by explicit ids."""
    rng = random.Random(20261122)
    rows: list[Base] = []
    bill_id = 0
    for number, name in enumerate(NAMES, start=1):
        if number == 1:
            phone = "010-1234-5678"
        else:
            phone = f"010-{rng.randint(2000, 9999)}-{rng.randint(1000, 9999)}"
        plan = rng.choice(MOBILE_PLANS)
        rows.append(
            CustomerRow(id=number, name=name, phone_number=phone, plan_name=plan)
        )
        for months_back in range(BILL_MONTHS - 1, -1, -1):
            period = month_start(today, months_back)
            extras = rng.choice([0, 0, 0, 3_300, 5_500, 11_000, 16_500])
            discount = rng.choice([0, 0, 5_000])
            following = month_start(period, -1)
            bill_id += 1
            rows.append(
                BillRow(
                    id=bill_id,
                    customer_id=number,
                    period=period,
                    amount_won=PLANS[plan].monthly_won + extras - discount,
                    due_date=following.replace(day=DUE_DAY),
                    paid=months_back > 0,
                )
            )
            rows.extend(
                BillItemRow(
                    bill_id=bill_id,
                    code=code,
                    label_ko=label_ko,
                    label_en=label_en,
                    amount_won=amount,
                )
                for code, label_ko, label_en, amount in bill_items(
                    plan, extras, discount
                )
            )
    return rows


def usage_and_payment_rows(today: dt.date, plans: dict[int, str]) -> list[Base]:
    """Data usage of the last months and payment accounts, from their own seed so
    the bills above stay the same."""
    rng = random.Random(7)
    month_progress = min(today.day / 30, 1.0)
    rows: list[Base] = []
    for customer_id, plan_name in plans.items():
        allowance = PLANS[plan_name].data_gb
        typical_mb = (allowance or 60) * 1024 * rng.uniform(0.5, 1.1)
        for months_back in range(USAGE_MONTHS):
            used = typical_mb * rng.uniform(0.85, 1.15)
            if allowance is not None:
                used = min(used, allowance * 1024)
            if months_back == 0:
                used *= month_progress
            rows.append(
                DataUsageRow(
                    customer_id=customer_id,
                    period=month_start(today, months_back),
                    used_mb=int(used),
                )
            )
        method = rng.choice(["card", "card", "bank_transfer", "giro"])
        if method == "card":
            detail = f"{rng.choice(CARDS)} ****{rng.randint(1000, 9999)}"
        elif method == "bank_transfer":
            detail = f"{rng.choice(BANKS)} ****{rng.randint(1000, 9999)}"
        else:
            detail = "지로 (종이 고지서)"
        rows.append(
            PaymentAccountRow(
                customer_id=customer_id,
                method=method,
                detail=detail,
                autopay_day=None if method == "giro" else rng.choice(AUTOPAY_DAYS),
            )
        )
    return rows


def outage_rows(now: dt.datetime) -> list[OutageRow]:
    hour = dt.timedelta(hours=1)
    return [
        OutageRow(
            district="강남구",
            service="internet",
            started_at=now - hour,
            expected_end=now + 3 * hour,
            cause_ko="광케이블 보수 공사",
            cause_en="repairs to a fibre cable",
        ),
        OutageRow(
            district="해운대구",
            service="mobile",
            started_at=now - hour / 2,
            expected_end=now + 2 * hour,
            cause_ko="기지국 장비 점검",
            cause_en="maintenance of a cell tower",
        ),
        OutageRow(
            district="마포구",
            service="iptv",
            started_at=now - 30 * hour,
            ended_at=now - 26 * hour,
            expected_end=now - 26 * hour,
            cause_ko="방송 송출 장비 장애",
            cause_en="a broadcast equipment fault",
        ),
    ]


def demo_rows(now: dt.datetime) -> list[Base]:
    """Every row of a fresh demo database, in an order that satisfies the keys."""
    customers = customer_rows(now.date())
    plans = {
        int(row.id): str(row.plan_name)
        for row in customers
        if isinstance(row, CustomerRow)
    }
    return [
        *plan_rows(),
        *customers,
        *usage_and_payment_rows(now.date(), plans),
        *outage_rows(now),
    ]
