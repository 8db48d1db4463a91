"""A webhook handler's use of the delivery ledger, the same for every channel.

``claim_delivery`` answers for the handler when the delivery is not new: the
channel's usual acknowledgement for one already done, 503 with ``Retry-After`` for
one another request is processing (the platform tries again later, and processes it
then if that request died), and 503 when the ledger cannot be reached (nothing is
processed without a claim, so nothing is processed twice; the platform delivers it
again). A platform that does not deliver again after a 5xx (Twilio, whose webhook
retries cover only failed connections unless its URL asks for more) would lose the
message instead, so for it an unreachable ledger means processing the message
unclaimed: a duplicate is possible only if the platform redelivers meanwhile, a loss
is certain otherwise. ``finish_delivery`` and ``release_delivery`` never fail the
request: the message has been handled (or has failed) whatever the ledger says.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError  # type: ignore[import-untyped]
from sanic import response
from sanic.response import HTTPResponse

from bot.channels.delivery_ledger import Claim, DeliveryLedger

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10


def _retry_later(error: str, message: str) -> HTTPResponse:
    return response.json(
        {"error": error, "message": message},
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def claim_delivery(
    ledger: DeliveryLedger,
    channel: str,
    delivery_id: str,
    done: HTTPResponse | None = None,
    redelivered: bool = True,
) -> HTTPResponse | None:
    """None when this request is to process the delivery; otherwise the answer.

    ``redelivered`` says whether the platform delivers again after a 5xx answer.
    """
    try:
        claim = await ledger.claim(channel, delivery_id)
    except (RedisError, OSError) as error:
        if not redelivered:
            logger.warning(
                "%s delivery %s processed unclaimed, the ledger is unreachable: %s",
                channel,
                delivery_id,
                error,
            )
            return None
        logger.error("%s delivery %s not claimed: %s", channel, delivery_id, error)
        return _retry_later("unavailable", "deliveries cannot be checked; try again")
    if claim is Claim.NEW:
        return None
    if claim is Claim.IN_PROGRESS:
        return _retry_later("in_progress", "this delivery is being processed")
    return done if done is not None else response.json({"status": "duplicate"})


async def finish_delivery(
    ledger: DeliveryLedger, channel: str, delivery_id: str
) -> None:
    try:
        await ledger.finish(channel, delivery_id)
    except (RedisError, OSError) as error:
        logger.error("%s delivery %s not marked done: %s", channel, delivery_id, error)


async def release_delivery(
    ledger: DeliveryLedger, channel: str, delivery_id: str
) -> None:
    try:
        await ledger.release(channel, delivery_id)
    except (RedisError, OSError) as error:
        logger.error("%s delivery %s not released: %s", channel, delivery_id, error)
