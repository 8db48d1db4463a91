"""Every JSON answer of the app under test, checked against the OpenAPI document.

The check runs as the app's outermost middleware, so it sees what a client gets,
error bodies from the error middleware included. Disagreements are collected and
reported when the test ends rather than turned into 500s the test might expect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from tests.openapi_schemas import response_validator


@dataclass
class DocumentCheck:
    document: dict[str, Any]
    disagreements: list[str] = field(default_factory=list)
    checked: int = 0

    def install(self, app: web.Application) -> None:
        app.middlewares.insert(0, self._middleware)

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as error:
            self.check(request, error)
            raise
        self.check(request, response)
        return response

    def check(self, request: web.Request, response: web.StreamResponse) -> None:
        resource = request.match_info.route.resource
        if resource is None or not isinstance(response, web.Response):
            # Paths no route matches, files and WebSockets carry no JSON.
            return
        where = f"{request.method} {resource.canonical} → {response.status}"
        item = self.document["paths"].get(resource.canonical, {})
        if request.method.lower() not in item:
            return
        try:
            checker = response_validator(
                self.document, request.method, resource.canonical, response.status
            )
        except KeyError:
            self.disagreements.append(f"{where}: status not documented")
            return
        if response.content_type != "application/json":
            return
        if checker is None:
            self.disagreements.append(f"{where}: JSON answer not documented")
            return
        assert isinstance(response.body, bytes)
        self.checked += 1
        for error in checker.iter_errors(json.loads(response.body)):
            at = "/".join(map(str, error.absolute_path))
            self.disagreements.append(f"{where}: {at}: {error.message}")
