"""The customer's channel, read from the prefix of the bot's sender id.

The bot's messaging channels name their conversations ``<channel>:<platform user>``
(bot/channels/sender_ids.py, which this mirrors: the service does not import the
bot's code); the web chat's signed session ids have no such prefix. Both sides are
checked against the ``Channel`` enum of openapi.yaml.
"""

from __future__ import annotations

from handoff.vocabulary import Channel

SEPARATOR = ":"
_PREFIXED = {
    channel.value: channel for channel in Channel if channel is not Channel.WEB
}


def channel_of(sender_id: str) -> Channel:
    prefix, separator, user = sender_id.partition(SEPARATOR)
    if separator and user and prefix in _PREFIXED:
        return _PREFIXED[prefix]
    return Channel.WEB
