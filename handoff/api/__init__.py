"""The HTTP API: routes, views, request validation, JSON presenters and the
error middleware."""
