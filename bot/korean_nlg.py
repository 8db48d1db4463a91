"""Rasa's response generator, with Korean particles fitted to the values filled in.

The Korean responses in ``domain.yml`` write a particle after a filled-in value in
both forms, the usual notation (``요금은 {method}(으)로``, ``{plan}이(가)``,
``{order_number}(이)에요``): the same response serves every plan name, account and
amount. Once Rasa has filled in the values, ``bot/korean_particles.py`` replaces each
by the form that fits what was filled in, in the text and in button titles. Rasa
loads it from ``endpoints.yml`` (``nlg: type: bot.korean_nlg.KoreanParticleNLG``),
for the responses the bot predicts and those its actions ask for alike.
"""

from __future__ import annotations

from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from bot.korean_particles import resolve

_BUTTON_LISTS = ("buttons", "quick_replies")


class KoreanParticleNLG(TemplatedNaturalLanguageGenerator):
    """The domain's responses, filled in, with their particles resolved."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        domain: Domain | None = None,
    ) -> None:
        # Rasa gives the loaded model's responses once the model is loaded.
        super().__init__(domain.responses if domain is not None else {})

    def generate_from_slots(
        self,
        utter_action: str,
        filled_slots: dict[str, Any],
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        response = super().generate_from_slots(
            utter_action, filled_slots, output_channel, **kwargs
        )
        if response is None:
            return None
        if isinstance(response.get("text"), str):
            response["text"] = resolve(response["text"])
        for key in _BUTTON_LISTS:
            for button in response.get(key) or []:
                if isinstance(button, dict) and isinstance(button.get("title"), str):
                    button["title"] = resolve(button["title"])
        return response
