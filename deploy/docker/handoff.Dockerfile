# syntax=docker/dockerfile:1
# The handoff service (python -m handoff) on Python 3.11. The same image runs the
# schema migrations (alembic -c handoff/alembic.ini upgrade head) and creates staff
# accounts (python -m handoff create-agent). Build from the repository root:
#
#   docker build -f deploy/docker/handoff.Dockerfile -t tandem-handoff .
#
# No secret is baked in: TANDEM_SERVICE_SECRET, TANDEM_CHAT_SESSION_SECRET,
# TANDEM_RASA_TOKEN and TANDEM_DATABASE_URL come from the environment at run time.

FROM python:3.11.11-slim-bookworm AS dependencies
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY handoff/requirements.txt /tmp/requirements/handoff.txt
# Every dependency is a wheel for this Python: no compiler is installed anywhere.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements/handoff.txt

FROM python:3.11.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TANDEM_HANDOFF_HOST=0.0.0.0 \
    TANDEM_HANDOFF_PORT=8080
RUN groupadd --system --gid 10001 tandem \
    && useradd --system --uid 10001 --gid tandem --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin tandem
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
# The service reads its pages, API document and migrations from handoff/, and the
# personal-data patterns it masks transcripts with from personal_data.yml.
COPY handoff/ handoff/
COPY personal_data.yml deploy/docker/probe.py ./
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/probe.py", "http://127.0.0.1:8080/health/live"]
CMD ["python", "-m", "handoff"]
