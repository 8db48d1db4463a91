"""Transfers, internal notes, canned responses, resolution codes, the offline
worklist, transcripts, and who may see which conversation."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import (
    BOT_HEADERS,
    StandInRasa,
    assert_refused,
    handoff_body,
    user_event,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Agent
from handoff.vocabulary import AgentStatus

Client = TestClient[web.Request, web.Application]

CALLBACK = {
    "mode": "callback",
    "callback": {"phone_number": "010-1234-5678", "preferred_time": "내일 오전"},
}


async def create(client: Client, sender_id: str = "c0ffee", **fields: Any) -> Any:
    response = await client.post(
        "/api/rasa/handoffs",
        json=handoff_body(sender_id, **fields),
        headers=BOT_HEADERS,
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def claimed(
    client: Client, headers: dict[str, str], sender: str = "c0ffee"
) -> Any:
    handoff = await create(client, sender)
    response = await client.post(
        f"/api/handoffs/{handoff['id']}/claim", headers=headers
    )
    assert response.status == 200
    return await response.json()


async def set_status(
    sessions: async_sessionmaker[AsyncSession], agent: Agent, status: AgentStatus
) -> None:
    async with sessions.begin() as session:
        (await session.get_one(Agent, agent.id)).status = status


async def test_agents_see_the_queue_and_their_own_but_not_others(
    client: Client, tokens: Any
) -> None:
    queued = await create(client, "waiting")
    minas = await claimed(client, tokens["mina"], "minas")

    joon_open = await (await client.get("/api/handoffs", headers=tokens["joon"])).json()
    sora_open = await (await client.get("/api/handoffs", headers=tokens["sora"])).json()
    refused = await client.get(f"/api/handoffs/{minas['id']}", headers=tokens["joon"])

    assert [item["id"] for item in joon_open["handoffs"]] == [queued["id"]]
    assert {item["id"] for item in sora_open["handoffs"]} == {queued["id"], minas["id"]}
    await assert_refused(
        refused, 403, "forbidden", f"handoff {minas['id']} is another agent's"
    )
    # Valid requests, so that each reaches the permission check.
    for method, path, body, message in (
        ("GET", "transcript", None, "is another agent's conversation"),
        ("POST", "notes", {"text": "x"}, "not assigned to you"),
        (
            "POST",
            "transfer",
            {"to_skill": "billing", "note": "x"},
            "not assigned to you",
        ),
        ("POST", "close", None, "is assigned to another agent"),
        ("POST", "messages", {"text": "x"}, "is assigned to another agent"),
    ):
        response = await client.request(
            method,
            f"/api/handoffs/{minas['id']}/{path}",
            json=body,
            headers=tokens["joon"],
        )
        await assert_refused(response, 403, "forbidden", message)


async def test_internal_notes_stay_inside_the_service(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff = await claimed(client, tokens["mina"])

    response = await client.post(
        f"/api/handoffs/{handoff['id']}/notes",
        json={"text": "고객이 두 번째 문의입니다"},
        headers=tokens["mina"],
    )

    assert response.status == 201
    note = await response.json()
    assert note["role"] == "note"
    assert note["delivery"] is None
    assert rasa.without_notices == []
    detail = await (
        await client.get(f"/api/handoffs/{handoff['id']}", headers=tokens["sora"])
    ).json()
    assert [message["role"] for message in detail["messages"]] == ["note"]
    transcript = await (
        await client.get(
            f"/api/handoffs/{handoff['id']}/transcript", headers=tokens["mina"]
        )
    ).json()
    assert all(entry["role"] != "note" for entry in transcript["entries"])


async def test_transcript_holds_the_bots_turns_and_the_handoffs(
    client: Client, tokens: Any
) -> None:
    handoff = await claimed(client, tokens["mina"])
    await client.post(
        "/api/rasa/events", json={"events": [user_event()]}, headers=BOT_HEADERS
    )
    await client.post(
        f"/api/handoffs/{handoff['id']}/messages",
        json={"text": "확인해 드릴게요"},
        headers=tokens["mina"],
    )

    response = await client.get(
        f"/api/handoffs/{handoff['id']}/transcript", headers=tokens["mina"]
    )

    entries = (await response.json())["entries"]
    assert [(entry["phase"], entry["role"], entry["text"]) for entry in entries] == [
        ("bot", "user", "상담원 연결해 주세요"),
        ("bot", "bot", "상담원을 연결해 드릴게요."),
        ("handoff", "user", "아직 기다리고 있어요"),
        ("handoff", "agent", "확인해 드릴게요"),
    ]


async def test_transfer_to_an_agent_with_a_note(
    client: Client, team: Any, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handoff = await claimed(client, tokens["mina"])
    await set_status(sessions, team.joon, AgentStatus.AWAY)

    response = await client.post(
        f"/api/handoffs/{handoff['id']}/transfer",
        json={"to_agent_id": team.joon.id, "note": "요금 이의 — 조언 부탁"},
        headers=tokens["mina"],
    )

    assert response.status == 200
    assert (await response.json())["assigned_agent_id"] == team.joon.id
    detail = await (
        await client.get(f"/api/handoffs/{handoff['id']}", headers=tokens["joon"])
    ).json()
    assert detail["transfers"][0]["from_agent_id"] == team.mina.id
    assert detail["transfers"][0]["note"] == "요금 이의 — 조언 부탁"
    # Mina no longer owns it.
    again = await client.post(
        f"/api/handoffs/{handoff['id']}/messages",
        json={"text": "hi"},
        headers=tokens["mina"],
    )
    await assert_refused(again, 403, "forbidden", "is assigned to another agent")


async def test_transfer_refusals(client: Client, team: Any, tokens: Any) -> None:
    handoff = await claimed(client, tokens["mina"])
    path = f"/api/handoffs/{handoff['id']}/transfer"
    one_target = "give exactly one of to_agent_id and to_skill"
    for body, message in (
        ({"note": "nobody"}, one_target),
        ({"to_agent_id": team.joon.id, "to_skill": "billing", "note": "x"}, one_target),
        ({"to_skill": "cooking", "note": "x"}, "to_skill must be one of"),
        ({"to_agent_id": "2", "note": "x"}, "to_agent_id must be a positive integer"),
        ({"to_agent_id": team.joon.id}, "missing field(s): note"),
        ({"to_agent_id": team.joon.id, "note": "   "}, "note must be 1 to 2000"),
        ({"to_agent_id": 999999, "note": "x"}, "agent 999999 does not exist"),
        ({"to_agent_id": team.mina.id, "note": "myself"}, "already assigned to them"),
    ):
        response = await client.post(path, json=body, headers=tokens["mina"])
        await assert_refused(response, 400, "invalid_request", message)
    offline = await client.post(
        path, json={"to_agent_id": team.joon.id, "note": "x"}, headers=tokens["mina"]
    )
    await assert_refused(offline, 409, "agent_unavailable", "Joon Park is offline")
    queued = await create(client, "other")
    by_agent = await client.post(
        f"/api/handoffs/{queued['id']}/transfer",
        json={"to_skill": "billing", "note": "x"},
        headers=tokens["mina"],
    )
    await assert_refused(by_agent, 403, "forbidden", "only a supervisor may do this")
    by_supervisor = await client.post(
        f"/api/handoffs/{queued['id']}/transfer",
        json={"to_skill": "billing", "note": "billing question"},
        headers=tokens["sora"],
    )
    assert by_supervisor.status == 200
    assert (await by_supervisor.json())["skill"] == "billing"


async def test_close_records_the_resolution_code(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff = await claimed(client, tokens["mina"])
    path = f"/api/handoffs/{handoff['id']}/close"
    for body, message in (
        ({"resolution": "customer_cancelled"}, "resolution must be one of"),
        ({"resolution": "fixed"}, "resolution must be one of"),
        ({"x": 1}, "unknown field(s): x"),
    ):
        response = await client.post(path, json=body, headers=tokens["mina"])
        await assert_refused(response, 400, "invalid_request", message)

    response = await client.post(
        path, json={"resolution": "follow_up"}, headers=tokens["mina"]
    )

    assert response.status == 200
    closed = await response.json()
    assert (closed["status"], closed["resolution"]) == ("resolved", "follow_up")


async def test_a_supervisor_may_close_any_conversation(
    client: Client, tokens: Any
) -> None:
    handoff = await claimed(client, tokens["mina"])

    response = await client.post(
        f"/api/handoffs/{handoff['id']}/close",
        json={"resolution": "spam"},
        headers=tokens["sora"],
    )

    assert response.status == 200


async def test_offline_worklist_take_and_close_without_rasa(
    client: Client, team: Any, tokens: Any, rasa: StandInRasa
) -> None:
    callback = await create(client, "night", **CALLBACK)
    ticket = await create(
        client, "night2", mode="ticket", ticket={"description": "인터넷이 끊겨요"}
    )
    assert callback["status"] == "offline"
    assert callback["queue_position"] is None
    worklist = await (
        await client.get("/api/handoffs?status=offline", headers=tokens["joon"])
    ).json()
    assert [item["id"] for item in worklist["handoffs"]] == [
        callback["id"],
        ticket["id"],
    ]

    not_taken = await client.post(
        f"/api/handoffs/{callback['id']}/close", headers=tokens["mina"]
    )
    await assert_refused(
        not_taken, 409, "invalid_transition", "from the offline worklist first"
    )
    taken = await client.post(
        f"/api/handoffs/{callback['id']}/claim", headers=tokens["mina"]
    )
    assert taken.status == 200
    assert (await taken.json())["assigned_agent_id"] == team.mina.id
    stolen = await client.post(
        f"/api/handoffs/{callback['id']}/claim", headers=tokens["joon"]
    )
    await assert_refused(stolen, 409, "already_assigned", "is already taken")
    closed = await client.post(
        f"/api/handoffs/{callback['id']}/close",
        json={"resolution": "resolved"},
        headers=tokens["mina"],
    )
    assert closed.status == 200
    assert (await closed.json())["status"] == "resolved"
    assert rasa.requests == []


async def test_offline_requests_need_their_details(client: Client) -> None:
    for fields, message in (
        ({"mode": "callback"}, "mode callback needs the callback object"),
        ({"mode": "ticket", "ticket": {}}, "ticket: missing field(s): description"),
        (
            {"mode": "queue", "callback": {"phone_number": "010"}},
            "callback is only for mode callback",
        ),
        ({"mode": "walk-in"}, "mode must be one of: queue, callback, ticket"),
        (
            {**CALLBACK, "callback": {"phone_number": "010", "email": "x@y"}},
            "callback: unknown field(s): email",
        ),
    ):
        response = await client.post(
            "/api/rasa/handoffs", json=handoff_body(**fields), headers=BOT_HEADERS
        )
        await assert_refused(response, 400, "invalid_request", message)


async def test_canned_responses_are_kept_by_supervisors(
    client: Client, tokens: Any
) -> None:
    greeting = {
        "language": "ko",
        "title": "인사",
        "text": "{name}님, 안녕하세요. {agent_name}입니다.",
    }
    created = await client.post(
        "/api/canned-responses", json=greeting, headers=tokens["sora"]
    )
    assert created.status == 201
    canned = await created.json()
    await client.post(
        "/api/canned-responses",
        json={"language": "en", "title": "Hello", "text": "Hello {name}!"},
        headers=tokens["sora"],
    )
    duplicate = await client.post(
        "/api/canned-responses", json=greeting, headers=tokens["sora"]
    )
    await assert_refused(duplicate, 409, "already_exists", "exists in ko")

    korean = await (
        await client.get("/api/canned-responses?language=ko", headers=tokens["mina"])
    ).json()
    assert [item["title"] for item in korean["canned_responses"]] == ["인사"]

    changed = await client.patch(
        f"/api/canned-responses/{canned['id']}",
        json={"text": "{name}님, 반갑습니다."},
        headers=tokens["sora"],
    )
    assert (await changed.json())["text"] == "{name}님, 반갑습니다."
    deleted = await client.delete(
        f"/api/canned-responses/{canned['id']}", headers=tokens["sora"]
    )
    assert deleted.status == 204
    gone = await client.delete(
        f"/api/canned-responses/{canned['id']}", headers=tokens["sora"]
    )
    await assert_refused(gone, 404, "not_found", "does not exist")


async def test_canned_response_input_is_validated(client: Client, tokens: Any) -> None:
    for body, message in (
        ({"language": "ja", "title": "t", "text": "x"}, "language must be one of"),
        (
            {"language": "ko", "title": "t", "text": "{customer}님"},
            "text: unknown placeholder(s) ['customer']",
        ),
        (
            {"language": "ko", "title": "t", "text": "{name"},
            "write a literal brace as {{ or }}",
        ),
        (
            {"language": "ko", "title": "t", "text": "{}"},
            "text: unknown placeholder(s) ['']",
        ),
        ({"language": "ko", "title": "", "text": "x"}, "title must not be empty"),
        ({"language": "ko", "title": "t"}, "missing field(s): text"),
        (
            {"language": "ko", "title": "t", "text": "x", "tags": []},
            "unknown field(s): tags",
        ),
    ):
        response = await client.post(
            "/api/canned-responses", json=body, headers=tokens["sora"]
        )
        await assert_refused(response, 400, "invalid_request", message)
    wrong_kind = await client.post(
        "/api/canned-responses",
        json={"language": ["ko"], "title": "t", "text": "x"},
        headers=tokens["sora"],
    )
    assert wrong_kind.status == 400
    assert await wrong_kind.json() == {
        "error": "invalid_request",
        "message": "language must be one of ['en', 'ko']",
    }
    listing = await client.get("/api/canned-responses?lang=ko", headers=tokens["mina"])
    await assert_refused(
        listing, 400, "invalid_request", "unknown query parameter(s): lang"
    )


async def test_context_fields_are_validated_and_kept(
    client: Client, tokens: Any
) -> None:
    context = {
        "skill": "billing",
        "priority": "high",
        "trigger": "emotion",
        "emotion": {
            "scores": {"anger": 0.8, "frustration": 0.6, "distress": 0.1},
            "history": [{"timestamp": 1732290000.0, "anger": 0.4}],
        },
        "verified_identity": {
            "customer_id": "C-100",
            "name": "김민수",
            "phone_number": "010-1234-5678",
            "verified_at": 1732289990.0,
        },
        "lookups": [
            {"kind": "bill", "summary": "11월 55,000원", "data": {"amount": 55000}}
        ],
        "summary": {"ko": "요금 이의", "en": "Bill dispute"},
    }
    handoff = await create(client, **context)
    detail = await (
        await client.get(f"/api/handoffs/{handoff['id']}", headers=tokens["mina"])
    ).json()
    assert (detail["skill"], detail["priority"], detail["trigger"]) == (
        "billing",
        "high",
        "emotion",
    )
    assert detail["context"]["verified_identity"]["name"] == "김민수"

    for fields, message in (
        ({"skill": "cooking"}, "skill must be one of"),
        ({"priority": 1}, "priority must be one of"),
        ({"trigger": "whim"}, "trigger must be one of"),
        ({"emotion": {"scores": {"anger": 1.5}}}, "anger must be between 0 and 1"),
        ({"emotion": {"scores": {"joy": 0.5}}}, "unknown field(s): joy"),
        ({"verified_identity": {"name": "x"}}, "missing field(s): customer_id"),
        ({"lookups": [{"kind": "bill"}]}, "lookups[0]: missing field(s): summary"),
        ({"summary": {"ja": "x"}}, "summary: unknown field(s): ja"),
    ):
        response = await client.post(
            "/api/rasa/handoffs",
            json=handoff_body("other", **fields),
            headers=BOT_HEADERS,
        )
        await assert_refused(response, 400, "invalid_request", message)
