"""Each agent's language, and a starter set of canned responses.

Agents get the language the console and the supervisor page speak to them
(Korean until they choose). A fresh install had no canned responses, so the
console's picker stayed empty until a supervisor wrote some: every install now
starts with ten in Korean and ten in English for telecom customer care, which
supervisors edit or delete like any other. An install that already has canned
responses keeps them and gets only the starter titles it does not use yet.

Revision ID: 0010_language_and_canned_replies
Revises: 0009_owner_changes
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0010_language_and_canned_replies"
down_revision: str | Sequence[str] | None = "0009_owner_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (language, title, text). {name} is the customer's verified name and
# {agent_name} the agent's; the console fills both in before sending.
STARTER_REPLIES = (
    (
        "ko",
        "인사",
        "안녕하세요, {name}님. 상담원 {agent_name}입니다. 무엇을 도와드릴까요?",
    ),
    (
        "ko",
        "이어서 상담",
        "챗봇과 나누신 대화를 모두 확인했습니다. "
        "같은 내용을 다시 말씀하지 않으셔도 됩니다.",
    ),
    (
        "ko",
        "자세한 내용 요청",
        "정확히 확인할 수 있도록 언제부터 어떤 문제가 있었는지 "
        "조금 더 자세히 말씀해 주시겠어요?",
    ),
    (
        "ko",
        "명세서 항목 확인",
        "요금이 예상과 다른 항목이 어떤 것인지, "
        "명세서의 항목 이름이나 금액을 알려 주시겠어요?",
    ),
    (
        "ko",
        "장애 상황 확인",
        "이용하시는 서비스(인터넷, TV, 휴대전화)와 "
        "장애가 발생한 주소의 구 이름을 알려 주시겠어요?",
    ),
    (
        "ko",
        "확인 중",
        "말씀하신 내용을 확인하고 있습니다. 잠시만 기다려 주세요.",
    ),
    (
        "ko",
        "기다려 주셔서 감사",
        "기다려 주셔서 감사합니다. 확인하는 데 몇 분 더 걸릴 것 "
        "같습니다. 조금만 더 기다려 주세요.",
    ),
    (
        "ko",
        "담당 부서 연결",
        "이 문의는 담당 부서에서 더 정확히 도와드릴 수 있습니다. "
        "지금 연결해 드리겠습니다. 지금까지의 내용은 함께 전달됩니다.",
    ),
    (
        "ko",
        "추가 문의",
        "더 궁금하신 점이 있으신가요? 없으시면 상담을 마무리하겠습니다.",
    ),
    (
        "ko",
        "마무리 인사",
        "문의해 주셔서 감사합니다, {name}님. "
        "상담을 마치면 챗봇이 짧은 만족도 조사를 안내해 드립니다. "
        "좋은 하루 보내세요.",
    ),
    (
        "en",
        "Greeting",
        "Hello {name}, this is {agent_name}. How can I help you today?",
    ),
    (
        "en",
        "Picking up",
        "I have read your conversation with our assistant, so there is no need to "
        "repeat anything.",
    ),
    (
        "en",
        "Asking for details",
        "So I can look into this properly, could you tell me a little more: what "
        "happens, and since when?",
    ),
    (
        "en",
        "Checking the bill",
        "Which item on your bill looks wrong to you? The item's name or amount on the "
        "statement is enough.",
    ),
    (
        "en",
        "Checking an outage",
        "Which service is affected (internet, TV or mobile), and in which district is "
        "the address?",
    ),
    ("en", "Checking", "I am checking this for you now; one moment, please."),
    (
        "en",
        "Thanks for waiting",
        "Thank you for waiting. This will take a few more minutes; I will be right "
        "back with you.",
    ),
    (
        "en",
        "Passing to a specialist",
        "A specialist team can help you best with this. I am passing you to them now, "
        "together with everything we discussed.",
    ),
    (
        "en",
        "Anything else",
        "Is there anything else I can help you with? If not, I will close our chat.",
    ),
    (
        "en",
        "Closing",
        "Thank you for contacting us, {name}. When we finish, our assistant will ask "
        "you for a quick rating. Have a good day.",
    ),
)

CANNED_RESPONSES = sa.table(
    "canned_responses",
    sa.column("id", sa.Integer),
    sa.column("language", sa.String),
    sa.column("title", sa.String),
    sa.column("text", sa.Text),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # A plain ADD COLUMN with a default for the existing rows: rebuilding the
    # table on SQLite would risk its indexes.
    op.add_column(
        "agents",
        sa.Column("language", sa.String(length=8), nullable=False, server_default="ko"),
    )
    connection = op.get_bind()
    taken = set(
        connection.execute(
            sa.select(CANNED_RESPONSES.c.language, CANNED_RESPONSES.c.title)
        ).all()
    )
    now = datetime.now(timezone.utc)
    rows = [
        {
            "language": language,
            "title": title,
            "text": text,
            "created_at": now,
            "updated_at": now,
        }
        for language, title, text in STARTER_REPLIES
        if (language, title) not in taken
    ]
    if rows:
        op.bulk_insert(CANNED_RESPONSES, rows)


def downgrade() -> None:
    # Starter replies a supervisor has not edited since go; edited ones stay.
    for language, title, text in STARTER_REPLIES:
        op.execute(
            CANNED_RESPONSES.delete().where(
                CANNED_RESPONSES.c.language == language,
                CANNED_RESPONSES.c.title == title,
                CANNED_RESPONSES.c.text == text,
            )
        )
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("language")
