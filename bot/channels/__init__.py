"""Messaging channels: KakaoTalk, Telegram, and Twilio's WhatsApp and SMS.

Each channel is a Rasa input channel with its own webhook under ``/webhooks/<name>/``,
reading its settings from the environment, and sends through the platform's HTTP API
with aiohttp, so a push from the handoff service works outside any webhook request.
What the channels share: sender ids (``sender_ids``), delivery failures and retries
(``delivery``), redelivered webhooks (``redelivery``), webhook body limits
(``limits``), splitting long texts (``text_parts``) and the state that must outlive a
restart (``channel_state``).
"""
