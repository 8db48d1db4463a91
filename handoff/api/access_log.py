"""The access log, without query strings or sender ids.

The live feed takes the agent's bearer token in its query string, and a token
in a log file is a token anyone reading the logs can use. A customer's sender id
in a path (export and erase of their data) is logged as the route's
``{sender_id}``: a web chat's sender id is the customer's session credential.
"""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


class AccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote,
            request.method,
            _loggable_path(request),
            response.status,
            response.body_length,
            time,
        )


def _loggable_path(request: BaseRequest) -> str:
    match_info = getattr(request, "match_info", None)
    if match_info is None or "sender_id" not in match_info:
        return request.path
    resource = match_info.route.resource
    return request.path if resource is None else resource.canonical
