"""Channel settings from the environment, refused at start when one is missing."""

from __future__ import annotations

from collections.abc import Mapping

from rasa.shared.exceptions import RasaException


class MissingChannelSetting(RasaException):
    """A channel named in the credentials file lacks a setting it needs."""


def required(environ: Mapping[str, str], name: str, channel: str) -> str:
    value = (environ.get(name) or "").strip()
    if not value:
        raise MissingChannelSetting(
            f"The {channel} channel needs {name}: set it, or leave the channel out"
            " of the credentials file."
        )
    return value


def api_url(environ: Mapping[str, str], name: str, default: str) -> str:
    value = (environ.get(name) or "").strip() or default
    if not value.startswith(("https://", "http://")):
        raise MissingChannelSetting(f"{name} must be an http(s) URL, not {value!r}")
    return value.rstrip("/")
