# syntax=docker/dockerfile:1
# The action server (python -m actions.server: rasa-sdk behind its bearer token) on
# Python 3.10, with the versions of bot/constraints.txt. Build from the repository
# root:
#
#   docker build -f deploy/docker/actions.Dockerfile -t tandem-actions .
#
# No secret is baked in: TANDEM_ACTIONS_TOKEN and TANDEM_SERVICE_SECRET come from
# the environment at run time.

FROM python:3.10.16-slim-bookworm AS dependencies
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY actions/requirements.txt /tmp/requirements/actions.txt
COPY bot/constraints.txt /tmp/requirements/constraints.txt
# Every dependency is a wheel for this Python: no compiler is installed anywhere.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir \
        -c /tmp/requirements/constraints.txt -r /tmp/requirements/actions.txt

FROM python:3.10.16-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TANDEM_ACTIONS_HOST=0.0.0.0 \
    TANDEM_ACTIONS_PORT=5055 \
    TANDEM_VAR_DIR=/app/var \
    TANDEM_DEMO_BACKEND_DB=/app/var/demo_backend.db
RUN groupadd --system --gid 10001 tandem \
    && useradd --system --uid 10001 --gid tandem --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin tandem
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
# The actions; the bot's modules they share (bearer-token check, personal-data
# masking, logs and metrics); the business hours; the handoff API document they read
# the skills and limits from.
COPY actions/ actions/
COPY bot/ bot/
COPY handoff/openapi.yaml handoff/openapi.yaml
COPY business_hours.yml personal_data.yml deploy/docker/probe.py ./
# The demo back end's SQLite file and the dev outbox of one-time codes; a volume
# mounted here starts out owned by the service's user.
RUN mkdir /app/var && chown 10001:10001 /app/var
USER 10001:10001
EXPOSE 5055
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/probe.py", "http://127.0.0.1:5055/health/live"]
CMD ["python", "-m", "actions.server"]
