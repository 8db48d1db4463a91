"""Kakao i Open Builder skill requests in, skill responses (version 2.0) out.

Open Builder posts a skill request for every customer message to the block that
calls the skill and shows the skill response it gets back within five seconds:
``template.outputs`` holds one to three bubbles (``simpleText`` of at most 1000
characters, ``simpleImage``), and ``template.quickReplies`` up to ten buttons whose
label shows at most 14 characters. A photo the customer sends arrives as
``userRequest.params.media`` (``{"type": "image", "url": …}``), the utterance being
its address. A block with the callback option also sends a
one-time ``userRequest.callbackUrl``: the skill may then answer
``{"version": "2.0", "useCallback": true, "data": {"text": ...}}`` at once and post
the real skill response to that URL within a minute.

This module turns a request into what the bot needs and the bot's messages into
bubbles: texts over 1000 characters are split at paragraph, line or word ends;
more than three bubbles are first packed by joining neighbouring texts, and what
still does not fit goes out afterwards through the Event API as ``overflow``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

from bot.channels.limits import WebhookRefused, object_field, text_field
from bot.language_detection import ENGLISH, KOREAN, detect_language
from bot.message_attachments import IMAGE, attachment_of, is_absolute

VERSION = "2.0"
MAX_OUTPUTS = 3
MAX_TEXT_CHARS = 1000
MAX_QUICK_REPLIES = 10
MAX_LABEL_CHARS = 14
MAX_UTTERANCE_CHARS = 2000
MAX_ID_CHARS = 128
MAX_URL_CHARS = 2048
MAX_PAYLOAD_CHARS = 500
PARAGRAPH = "\n\n"
USER_ID = re.compile(r"[A-Za-z0-9._~-]+")
IMAGE_ALT = "이미지 (image)"

# What the channel itself says, in both languages (the bot's own words are in the
# domain; these are about the channel: a turn still running, a message relayed).
NOTICES = {
    "working": {
        KOREAN: "답변을 준비하고 있어요. 잠시만 기다려 주세요.",
        ENGLISH: "Your answer is on its way. One moment, please.",
    },
    "received": {
        KOREAN: "메시지를 전달했어요. 답변이 오면 여기로 알려 드릴게요.",
        ENGLISH: "Your message has been passed on. The answer will come here.",
    },
    "duplicate": {
        KOREAN: "앞서 보내신 메시지를 처리하고 있어요. 잠시만 기다려 주세요.",
        ENGLISH: "We're still working on your previous message. One moment, please.",
    },
    "failed": {
        KOREAN: "죄송해요, 지금은 답변을 드리지 못했어요. 잠시 후 다시 말씀해 주세요.",
        ENGLISH: "Sorry, we couldn't answer just now. Please try again in a moment.",
    },
}


def notice(kind: str, language: str) -> str:
    return NOTICES[kind][language]


@dataclass(frozen=True)
class SkillRequest:
    """The parts of a skill request the bot uses."""

    bot_id: str
    user_id: str
    utterance: str
    text: str
    """What the bot reads: the utterance, or the payload of the button pressed."""
    callback_url: str | None
    language: str
    """The language of the channel's own notices for this customer."""
    image_url: str | None = None
    """The photo the customer sent, at Kakao."""

    @property
    def key(self) -> str:
        """Names the request for spotting Open Builder sending it again: the skill
        request has no id of its own, so the customer and what they sent."""
        digest = hashlib.sha256()
        for part in (self.bot_id, self.user_id, self.utterance, self.text):
            digest.update(part.encode("utf-8") + b"\0")
        return digest.hexdigest()


def parse_skill_request(body: dict[str, Any], *, event_api_url: str) -> SkillRequest:
    """The skill request in ``body``; raises ``WebhookRefused`` (400) naming what
    is missing or malformed."""
    bot = object_field(body, "bot", "bot")
    bot_id = text_field(bot, "id", "bot.id", max_chars=MAX_ID_CHARS)
    user_request = object_field(body, "userRequest", "userRequest")
    user = object_field(user_request, "user", "userRequest.user")
    user_id = text_field(user, "id", "userRequest.user.id", max_chars=MAX_ID_CHARS)
    if not USER_ID.fullmatch(user_id):
        # It becomes part of the conversation id, which travels in the path of
        # Rasa's HTTP API; Kakao's user keys are letters and digits.
        raise WebhookRefused(
            400,
            "bad_request",
            "userRequest.user.id may hold only letters, digits, '.', '_', '~', '-'.",
        )
    utterance = text_field(
        user_request,
        "utterance",
        "userRequest.utterance",
        max_chars=MAX_UTTERANCE_CHARS,
    )
    callback_url = user_request.get("callbackUrl")
    if callback_url is not None:
        callback_url = _callback_url(callback_url, event_api_url)
    image_url = _image_url(user_request.get("params"))
    return SkillRequest(
        bot_id=bot_id,
        user_id=user_id,
        utterance=utterance,
        text=_button_payload(body.get("action")) or utterance,
        callback_url=callback_url,
        # A photo's utterance is its address, which tells no language.
        language=_language("" if image_url else utterance, user_request.get("lang")),
        image_url=image_url,
    )


def _image_url(params: object) -> str | None:
    """The address of the photo a request carries, if it carries one."""
    media = params.get("media") if isinstance(params, dict) else None
    if not isinstance(media, dict) or media.get("type") != "image":
        return None
    url = media.get("url")
    if (
        not isinstance(url, str)
        or len(url) > MAX_URL_CHARS
        or not url.startswith(("https://", "http://"))
    ):
        raise WebhookRefused(
            400, "bad_request", "userRequest.params.media.url must be a URL."
        )
    return url


def _callback_url(value: object, event_api_url: str) -> str:
    """A callback URL must be HTTPS, or on the Event API's own origin (so a local
    stand-in of Kakao can receive callbacks over plain HTTP)."""
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise WebhookRefused(
            400, "bad_request", "userRequest.callbackUrl must be a URL."
        )
    url, api = urlsplit(value), urlsplit(event_api_url)
    same_origin = (url.scheme, url.netloc) == (api.scheme, api.netloc)
    if not url.netloc or (url.scheme != "https" and not same_origin):
        raise WebhookRefused(
            400, "bad_request", "userRequest.callbackUrl must be an https URL."
        )
    return value


def _button_payload(action: object) -> str | None:
    """The intent payload of a pressed quick reply, which travels in
    ``action.clientExtra`` (see ``quick_reply``)."""
    if not isinstance(action, dict):
        return None
    extra = action.get("clientExtra")
    payload = extra.get("payload") if isinstance(extra, dict) else None
    if (
        isinstance(payload, str)
        and payload.startswith("/")
        and len(payload) <= MAX_PAYLOAD_CHARS
    ):
        return payload
    return None


def _language(utterance: str, lang: object) -> str:
    detected = detect_language(utterance)
    if detected is not None:
        return detected
    return ENGLISH if isinstance(lang, str) and lang.lower() == "en" else KOREAN


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Bubble:
    """One speech bubble: a text or an image, with the buttons of the message it
    ends."""

    text: str | None = None
    image_url: str | None = None
    buttons: tuple[Button, ...] = field(default=())

    def as_output(self) -> dict[str, Any]:
        if self.image_url is not None:
            return {"simpleImage": {"imageUrl": self.image_url, "altText": IMAGE_ALT}}
        return {"simpleText": {"text": self.text or ""}}

    def as_event_text(self) -> str:
        """The bubble as the text of an Event API message, which shows text only:
        an image as its address, buttons as a list the customer can type from."""
        parts = [part for part in (self.text, self.image_url) if part]
        if self.buttons:
            parts.append("\n".join(f"• {button.title}" for button in self.buttons))
        return PARAGRAPH.join(parts)


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at the last
    paragraph, line or word end in the second half of each piece when there is one."""
    pieces = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = next(
            (
                at
                for separator in (PARAGRAPH, "\n", " ")
                if (at := window.rfind(separator)) > limit // 2
            ),
            limit,
        )
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def message_bubbles(message: dict[str, Any], prefix: str = "") -> list[Bubble]:
    """The bubbles of one of Rasa's bot messages (``text``, ``image``,
    ``buttons``/``quick_replies``, ``attachment``, an agent's ``tandem_attachment``);
    ``prefix`` goes before its text."""
    text = str(message.get("text") or "").strip()
    attachment = message.get("attachment")
    if isinstance(attachment, str) and attachment:
        text = f"{text}{PARAGRAPH}{attachment}".strip()
    buttons, link_lines = _buttons(
        message.get("buttons") or message.get("quick_replies")
    )
    if link_lines:
        text = PARAGRAPH.join([text, *link_lines]).strip()
    image = message.get("image")
    sent_file = attachment_of(message)
    if sent_file is not None and is_absolute(sent_file.url):
        # An agent's file: a photo shows as one, a PDF is a link under the text.
        if sent_file.kind == IMAGE:
            image = sent_file.url
        else:
            link = f"{sent_file.filename}: {sent_file.url}"
            text = PARAGRAPH.join([text, link]).strip()
    if text and prefix:
        text = f"{prefix}{text}"
    bubbles = [Bubble(text=piece) for piece in split_text(text)]
    if isinstance(image, str) and image.startswith(("https://", "http://")):
        bubbles.append(Bubble(image_url=image))
    if buttons:
        if not bubbles:
            bubbles.append(Bubble(text=" / ".join(button.title for button in buttons)))
        bubbles[-1] = replace(bubbles[-1], buttons=buttons)
    return bubbles


def _buttons(raw: object) -> tuple[tuple[Button, ...], list[str]]:
    """Rasa's buttons as quick replies; buttons that open a web page have no quick
    reply that does the same, so they become ``title: url`` lines of the text."""
    buttons: list[Button] = []
    links: list[str] = []
    for button in raw if isinstance(raw, list) else []:
        if not isinstance(button, dict) or not button.get("title"):
            continue
        title = str(button["title"])
        if button.get("url"):
            links.append(f"{title}: {button['url']}")
            continue
        buttons.append(Button(title=title, payload=str(button.get("payload") or title)))
    return tuple(buttons), links


def pack(bubbles: Sequence[Bubble], limit: int = MAX_OUTPUTS) -> list[Bubble]:
    """Joins neighbouring texts, shortest pair first, until at most ``limit``
    bubbles remain or no pair fits in one bubble; button-carrying texts are joined
    only with a following text, so buttons stay on the message that asked."""
    packed = list(bubbles)
    while len(packed) > limit:
        candidates = [
            (len(first.text or "") + len(second.text or ""), index)
            for index, (first, second) in enumerate(pairwise(packed))
            if _joinable(first, second)
        ]
        if not candidates:
            break
        _, index = min(candidates)
        first, second = packed[index], packed[index + 1]
        packed[index : index + 2] = [
            Bubble(
                text=f"{first.text}{PARAGRAPH}{second.text}",
                buttons=second.buttons or first.buttons,
            )
        ]
    return packed


def _joinable(first: Bubble, second: Bubble) -> bool:
    if first.image_url is not None or second.image_url is not None:
        return False
    if first.buttons and second.buttons:
        return False
    length = len(first.text or "") + len(PARAGRAPH) + len(second.text or "")
    return length <= MAX_TEXT_CHARS


def quick_reply(button: Button) -> dict[str, Any]:
    """A button as a quick reply. Pressing it sends ``messageText`` as the
    customer's message, shown in the chat: an intent payload (``/affirm``) would
    show as such, so the title is sent and the payload rides along in ``extra``,
    which Open Builder passes back as ``action.clientExtra``."""
    label = button.title
    if len(label) > MAX_LABEL_CHARS:
        label = label[: MAX_LABEL_CHARS - 1].rstrip() + "…"
    reply: dict[str, Any] = {"label": label, "action": "message"}
    if button.payload.startswith("/"):
        reply["messageText"] = button.title
        reply["extra"] = {"payload": button.payload}
    else:
        reply["messageText"] = button.payload
    return reply


def skill_response(
    bubbles: Sequence[Bubble], *, empty_text: str
) -> tuple[dict[str, Any], list[Bubble]]:
    """The skill response for ``bubbles`` and the bubbles that did not fit in it.
    A response needs one bubble at least: ``empty_text`` when there is none."""
    packed = pack(bubbles) or [Bubble(text=empty_text)]
    shown, overflow = packed[:MAX_OUTPUTS], packed[MAX_OUTPUTS:]
    template: dict[str, Any] = {"outputs": [bubble.as_output() for bubble in shown]}
    buttons = next((bubble.buttons for bubble in reversed(shown) if bubble.buttons), ())
    if buttons:
        template["quickReplies"] = [
            quick_reply(button) for button in buttons[:MAX_QUICK_REPLIES]
        ]
    return {"version": VERSION, "template": template}, overflow


def use_callback_response(text: str) -> dict[str, Any]:
    """The immediate answer of a turn that finishes through the callback URL; the
    block's callback message shows ``{{#webhook.text}}``."""
    return {"version": VERSION, "useCallback": True, "data": {"text": text}}


def bubbles_of(messages: Iterable[dict[str, Any]]) -> list[Bubble]:
    return [bubble for message in messages for bubble in message_bubbles(message)]
