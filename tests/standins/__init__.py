"""Local stand-ins for the messaging platforms' HTTP APIs, for tests.

Each runs in the test's own loop (``create_app``) or as a process
(``python -m tests.standins.<platform>_api --port N``), records what the bot sends
(``GET /_recorded``), answers as the platform documents, can be told to fail
(``POST /_failures``), and delivers webhooks signed as the platform signs them.
"""
