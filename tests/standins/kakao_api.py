"""A stand-in for Kakao's side of a KakaoTalk chatbot, for the tests.

The server plays Kakao's Event API (``POST /v2/bots/{bot id}/talk`` with
``Authorization: KakaoAK <REST API key>``, answered ``{"taskId", "status":
"SUCCESS", ...}``), the results of its tasks (``GET /v1/tasks/{taskId}`` with the
same header: 401 with another key, 404 for a task it never took, else the finished
result ``{"taskId", "status", "allRequestCount", "successCount", "fail": {"count",
"list": [{"user": {"type", "id"}, "reason", "message"}]}}``, a success unless the
customer had blocked the channel when the task was taken) and the one-time callback
URLs of blocks with the callback option (valid once, for a minute). It records what
it took, checks every skill response it receives against Open Builder's limits, and
answers errors on demand.
``OpenBuilder`` posts skill requests to the bot the way Open Builder does, with the
skill's secret header and the bot's id.

    python -m tests.standins.kakao_api serve --bot-id B --rest-api-key K
    python -m tests.standins.kakao_api say \\
        --webhook http://127.0.0.1:5005/webhooks/kakao/webhook \\
        --secret S --bot-id B --user U "안녕하세요"

Test-only routes:

- ``GET /_recorded``: the events, callbacks, refused attempts and task results
  asked for (``task_checks``); events and callbacks say when they arrived
  (``received_at``, by ``time.monotonic()``, one clock for every process of a Linux
  machine);
- ``POST /_fail`` with ``{"status": 503, "times": 2, "body": {...}, "retry_after":
  "1", "delay": 0.5}``: the next Event API calls answer that, after ``delay`` s;
- ``POST /_blocked`` with ``{"user": id}``: the customer blocks the channel
  (``"blocked": false`` unblocks): the tasks taken for them from then on still
  answer ``SUCCESS`` when sent, and their results say they failed for that user;
- ``POST /_pending`` with ``{"times": 2}``: the next task results asked for answer
  ``{"taskId", "status": "PROCESSING", "allRequestCount": 1}``, not finished yet;
- ``POST /_task_answers`` with ``{"status": 503, "times": 1, "body": ...}``: the
  next task results asked for answer that instead (``body`` any JSON);
- ``POST /_callback_urls``: a fresh callback URL, as Open Builder puts in
  ``userRequest.callbackUrl``;
- ``GET /dn/{name}``: a photo a customer sent, as Kakao's image server keeps it
  (``KakaoStandIn.photos``, or ``POST /_photos {"name", "content_base64",
  "content_type"}`` to a stand-in process); ``OpenBuilder.send(..., image_url=…)``
  sends the skill request of a photo: ``userRequest.params.media = {"type":
  "image", "url": …}`` with the address as the utterance.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.standins import recording

SECRET_HEADER = "X-Tandem-Skill-Secret"
USER_KEY_TYPES = ("botUserKey", "plusfriendUserKey", "appUserId")
MAX_EVENT_USERS = 100
CALLBACK_SECONDS = 60.0
MAX_OUTPUTS = 3
MAX_TEXT_CHARS = 1000
MAX_QUICK_REPLIES = 10
MAX_LABEL_CHARS = 14


def skill_response_problems(answer: object) -> list[str]:
    """What in ``answer`` Open Builder would not show: empty when it is a valid
    version 2.0 skill response within the limits."""
    if not isinstance(answer, dict) or answer.get("version") != "2.0":
        return ["version must be 2.0"]
    if answer.get("useCallback") is True:
        data = answer.get("data")
        if data is not None and not isinstance(data, dict):
            return ["data must be an object"]
        return []
    template = answer.get("template")
    if not isinstance(template, dict):
        return ["template is missing"]
    problems = []
    outputs = template.get("outputs")
    if not isinstance(outputs, list) or not 1 <= len(outputs) <= MAX_OUTPUTS:
        problems.append(f"template.outputs must hold 1 to {MAX_OUTPUTS} outputs")
        outputs = []
    for index, output in enumerate(outputs):
        text = (
            output.get("simpleText", {}).get("text")
            if isinstance(output, dict)
            else None
        )
        image = output.get("simpleImage") if isinstance(output, dict) else None
        if isinstance(text, str):
            if not text or len(text) > MAX_TEXT_CHARS:
                problems.append(f"outputs[{index}] text has {len(text)} characters")
        elif not (
            isinstance(image, dict)
            and isinstance(image.get("imageUrl"), str)
            and isinstance(image.get("altText"), str)
        ):
            problems.append(f"outputs[{index}] is neither simpleText nor simpleImage")
    replies = template.get("quickReplies", [])
    if not isinstance(replies, list) or len(replies) > MAX_QUICK_REPLIES:
        problems.append(f"at most {MAX_QUICK_REPLIES} quickReplies")
        replies = []
    for index, reply in enumerate(replies):
        label = reply.get("label") if isinstance(reply, dict) else None
        if not isinstance(label, str) or not 1 <= len(label) <= MAX_LABEL_CHARS:
            problems.append(f"quickReplies[{index}] label {label!r}")
        if not isinstance(reply, dict) or reply.get("action") != "message":
            problems.append(f"quickReplies[{index}] action must be message")
        elif not isinstance(reply.get("messageText"), str):
            problems.append(f"quickReplies[{index}] needs messageText")
    return problems


@dataclass
class ForcedAnswer:
    status: int
    body: Any
    retry_after: str = ""
    delay: float = 0.0


@dataclass
class KakaoStandIn:
    bot_id: str
    rest_api_key: str
    events: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    forced: list[ForcedAnswer] = field(default_factory=list)
    issued: dict[str, float] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    # Customers' photos by name: (bytes, content type).
    photos: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    photo_fetches: list[str] = field(default_factory=list)
    # Customers who blocked the channel, and which users each task did not reach.
    blocked: set[str] = field(default_factory=set)
    tasks: dict[str, list[str]] = field(default_factory=dict)
    task_checks: list[dict[str, Any]] = field(default_factory=list)
    pending: int = 0
    forced_results: list[ForcedAnswer] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024)
        app.router.add_post("/v2/bots/{bot_id}/talk", self.talk)
        app.router.add_get("/v1/tasks/{task_id}", self.task_result)
        app.router.add_post("/_blocked", self.block)
        app.router.add_post("/_pending", self.answer_pending)
        app.router.add_post("/_task_answers", self.force_results)
        app.router.add_post("/v1/callbacks/{token}", self.callback)
        app.router.add_get("/_recorded", self.recorded)
        app.router.add_post("/_fail", self.fail)
        app.router.add_post("/_callback_urls", self.callback_url)
        app.router.add_get("/dn/{name}", self.photo)
        app.router.add_post("/_photos", self.put_photo)
        return app

    async def put_photo(self, request: web.Request) -> web.Response:
        """Keeps a photo a customer sends; its address on the image server."""
        body = await request.json()
        name = str(body["name"])
        content = base64.b64decode(body["content_base64"])
        self.photos[name] = (content, str(body["content_type"]))
        return web.json_response(
            {"url": f"{request.scheme}://{request.host}/dn/{name}"}
        )

    async def photo(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.photo_fetches.append(name)
        if name not in self.photos:
            return web.Response(status=404)
        content, content_type = self.photos[name]
        return web.Response(body=content, content_type=content_type)

    def _refuse(self, status: int, message: str, what: dict[str, Any]) -> web.Response:
        self.refused.append({"status": status, "message": message, **what})
        return web.json_response({"status": "FAIL", "message": message}, status=status)

    async def talk(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"KakaoAK {self.rest_api_key}":
            return self._refuse(401, "invalid REST API key", {"route": "talk"})
        if request.match_info["bot_id"] != self.bot_id:
            return self._refuse(400, "unknown bot", {"route": "talk"})
        try:
            body = await request.json()
        except ValueError:
            return self._refuse(400, "body is not JSON", {"route": "talk"})
        problem = _event_problem(body)
        if problem:
            return self._refuse(400, problem, {"route": "talk", "body": body})
        if self.forced:
            forced = self.forced.pop(0)
            await asyncio.sleep(forced.delay)
            self.refused.append(
                {"status": forced.status, "route": "talk", "body": body}
            )
            headers = {"Retry-After": forced.retry_after} if forced.retry_after else {}
            return web.json_response(forced.body, status=forced.status, headers=headers)
        task_id = uuid.uuid4().hex
        self.tasks[task_id] = [
            user["id"] for user in body["user"] if user["id"] in self.blocked
        ]
        self.events.append(
            {
                "task_id": task_id,
                "event": body["event"]["name"],
                "text": body["event"].get("data", {}).get("text"),
                "users": body["user"],
                "received_at": time.monotonic(),
            }
        )
        return web.json_response(
            {
                "taskId": task_id,
                "status": "SUCCESS",
                "message": "",
                "timestamp": int(time.time() * 1000),
            }
        )

    async def callback_url(self, request: web.Request) -> web.Response:
        token = secrets.token_urlsafe(16)
        self.issued[token] = time.monotonic()
        # The Host header, not request.url: the bot's environment pairs aiohttp
        # 3.9 with a yarl that cannot build URLs from a host with a port.
        origin = f"{request.scheme}://{request.host}"
        return web.json_response({"url": f"{origin}/v1/callbacks/{token}"})

    async def callback(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token not in self.issued:
            return self._refuse(404, "unknown callback", {"route": "callback"})
        if token in self.used:
            return self._refuse(400, "callback already used", {"route": "callback"})
        if time.monotonic() - self.issued[token] > CALLBACK_SECONDS:
            return self._refuse(400, "callback expired", {"route": "callback"})
        try:
            body = await request.json()
        except ValueError:
            return self._refuse(400, "body is not JSON", {"route": "callback"})
        problems = skill_response_problems(body)
        if problems:
            return self._refuse(400, "; ".join(problems), {"route": "callback"})
        self.used.add(token)
        self.callbacks.append(
            {"token": token, "response": body, "received_at": time.monotonic()}
        )
        return web.json_response(
            {
                "taskId": uuid.uuid4().hex,
                "status": "SUCCESS",
                "message": "",
                "timestamp": int(time.time() * 1000),
            }
        )

    async def task_result(self, request: web.Request) -> web.Response:
        task_id = request.match_info["task_id"]
        if request.headers.get("Authorization") != f"KakaoAK {self.rest_api_key}":
            return self._refuse(401, "invalid REST API key", {"route": "task"})
        self.task_checks.append({"task_id": task_id, "received_at": time.monotonic()})
        if self.forced_results:
            forced = self.forced_results.pop(0)
            return web.json_response(forced.body, status=forced.status)
        if task_id not in self.tasks:
            return self._refuse(404, "unknown task", {"route": "task"})
        if self.pending > 0:
            self.pending -= 1
            return web.json_response(
                {"taskId": task_id, "status": "PROCESSING", "allRequestCount": 1}
            )
        return web.json_response(self._finished(task_id))

    def _finished(self, task_id: str) -> dict[str, Any]:
        [event] = [event for event in self.events if event["task_id"] == task_id]
        failed = self.tasks[task_id]
        users = len(event["users"])
        status = "SUCCESS" if not failed else "FAIL"
        if failed and len(failed) < users:
            status = "PARTIAL_SUCCESS"
        return {
            "taskId": task_id,
            "status": status,
            "allRequestCount": users,
            "successCount": users - len(failed),
            "fail": {
                "count": len(failed),
                "list": [
                    {
                        "user": {"type": "botUserKey", "id": user_id},
                        "reason": "BLOCKED_USER",
                        "message": "the user blocked the channel",
                    }
                    for user_id in failed
                ],
            },
        }

    async def block(self, request: web.Request) -> web.Response:
        order = await request.json()
        user_id = str(order["user"])
        if order.get("blocked", True):
            self.blocked.add(user_id)
        else:
            self.blocked.discard(user_id)
        return web.json_response({"blocked": sorted(self.blocked)})

    async def answer_pending(self, request: web.Request) -> web.Response:
        self.pending += int((await request.json()).get("times", 1))
        return web.json_response({"pending": self.pending})

    async def force_results(self, request: web.Request) -> web.Response:
        order = await request.json()
        for _ in range(int(order.get("times", 1))):
            self.forced_results.append(
                ForcedAnswer(status=int(order.get("status", 200)), body=order["body"])
            )
        return web.json_response({"queued": len(self.forced_results)})

    async def recorded(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "events": self.events,
                "callbacks": self.callbacks,
                "refused": self.refused,
                "task_checks": self.task_checks,
            }
        )

    async def fail(self, request: web.Request) -> web.Response:
        order = await request.json()
        for _ in range(int(order.get("times", 1))):
            self.forced.append(
                ForcedAnswer(
                    status=int(order["status"]),
                    body=dict(order.get("body") or {"status": "FAIL"}),
                    retry_after=str(order.get("retry_after") or ""),
                    delay=float(order.get("delay") or 0),
                )
            )
        return web.json_response({"queued": len(self.forced)})


def _event_problem(body: object) -> str | None:
    if not isinstance(body, dict):
        return "body must be an object"
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("name"), str):
        return "event.name is required"
    if not isinstance(event.get("data", {}), dict):
        return "event.data must be an object"
    users = body.get("user")
    if not isinstance(users, list) or not 1 <= len(users) <= MAX_EVENT_USERS:
        return f"user must list 1 to {MAX_EVENT_USERS} users"
    ids = []
    for user in users:
        if not (
            isinstance(user, dict)
            and user.get("type") in USER_KEY_TYPES
            and isinstance(user.get("id"), str)
        ):
            return "each user needs a type and an id"
        ids.append(user["id"])
    if len(set(ids)) != len(ids):
        return "a user is listed twice"
    return None


class OpenBuilder:
    """Posts skill requests to the bot's webhook as Kakao i Open Builder does."""

    def __init__(
        self,
        webhook_url: str,
        *,
        secret: str,
        bot_id: str,
        standin_url: str | None = None,
    ) -> None:
        self.webhook_url = webhook_url
        self.secret = secret
        self.bot_id = bot_id
        self.standin_url = standin_url

    def payload(
        self,
        utterance: str,
        user_id: str,
        *,
        callback_url: str | None = None,
        client_extra: dict[str, Any] | None = None,
        image_url: str | None = None,
    ) -> dict[str, Any]:
        block = {"id": "5f0000000000000000000001", "name": "폴백 블록"}
        params: dict[str, Any] = {"ignoreMe": "true", "surface": "Kakaotalk.plusfriend"}
        if image_url is not None:
            params["media"] = {"type": "image", "url": image_url}
        user_request: dict[str, Any] = {
            "timezone": "Asia/Seoul",
            "params": params,
            "block": block,
            "utterance": utterance,
            "lang": "ko",
            "user": {
                "id": user_id,
                "type": "botUserKey",
                "properties": {"botUserKey": user_id, "isFriend": True},
            },
        }
        if callback_url is not None:
            user_request["callbackUrl"] = callback_url
        return {
            "intent": block,
            "userRequest": user_request,
            "bot": {"id": self.bot_id, "name": "탠덤"},
            "action": {
                "name": "tandem",
                "clientExtra": client_extra,
                "params": {},
                "id": "5f0000000000000000000002",
                "detailParams": {},
            },
            "contexts": [],
        }

    async def new_callback_url(self, session: aiohttp.ClientSession) -> str:
        assert self.standin_url is not None, "callbacks need the stand-in's address"
        async with session.post(f"{self.standin_url}/_callback_urls") as answer:
            return str((await answer.json())["url"])

    async def send(
        self,
        utterance: str,
        user_id: str,
        *,
        callback: bool = False,
        client_extra: dict[str, Any] | None = None,
        image_url: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Posts one skill request; Open Builder's answer status and JSON body."""
        async with aiohttp.ClientSession() as session:
            callback_url = await self.new_callback_url(session) if callback else None
            return await self.post(
                session,
                self.payload(
                    utterance,
                    user_id,
                    callback_url=callback_url,
                    client_extra=client_extra,
                    image_url=image_url,
                ),
            )

    async def post(
        self,
        session: aiohttp.ClientSession,
        payload: object,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Posts ``payload`` as it is, with the secret header unless ``headers``
        replace it."""
        sent = {SECRET_HEADER: self.secret} if headers is None else headers
        async with session.post(
            self.webhook_url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json", **sent},
        ) as answer:
            return answer.status, dict(await answer.json(content_type=None))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="play Kakao's Event API and callbacks")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--port", type=int, default=0, help="0, the default, takes a free port"
    )
    serve.add_argument("--bot-id", required=True)
    serve.add_argument("--rest-api-key", required=True)
    say = commands.add_parser("say", help="post one skill request to the bot")
    say.add_argument("--webhook", required=True)
    say.add_argument("--secret", required=True)
    say.add_argument("--bot-id", required=True)
    say.add_argument("--user", required=True)
    say.add_argument("text")
    args = parser.parse_args(argv)
    if args.command == "serve":
        stand_in = KakaoStandIn(bot_id=args.bot_id, rest_api_key=args.rest_api_key)
        recording.run(stand_in.app(), args.host, args.port)
        return 0
    builder = OpenBuilder(args.webhook, secret=args.secret, bot_id=args.bot_id)
    status, answer = asyncio.run(builder.send(args.text, args.user))
    print(status, json.dumps(answer, ensure_ascii=False, indent=2))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
