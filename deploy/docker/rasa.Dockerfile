# syntax=docker/dockerfile:1
# The Rasa server (python -m bot.server: `rasa run` with its API token from the
# environment), Rasa 3.6.21 on Python 3.10, with the spaCy and emotion pipelines
# built from the repository. Build from the repository root:
#
#   docker build -f deploy/docker/rasa.Dockerfile -t tandem-rasa .
#
# MODEL_SOURCE=train (the default) trains the model into the image at build time.
# MODEL_SOURCE=mount builds the image without one: mount a directory holding a model
# trained from the same commit (models/tandem.tar.gz) at /app/model.
#
# No secret is baked in: the tokens, the tracker store's and Redis's passwords come
# from the environment at run time (deploy/endpoints.cluster.yml names them).

ARG MODEL_SOURCE=train

FROM python:3.10.16-slim-bookworm AS dependencies
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY bot/requirements.txt bot/constraints.txt /tmp/requirements/
# pip 24.1 refuses the old version metadata of some of Rasa's dependencies (as in the
# Makefile). Every dependency is a wheel for this Python, or pure Python: no
# compiler is installed anywhere.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir pip==24.0 \
    && /opt/venv/bin/pip install --no-cache-dir \
        -c /tmp/requirements/constraints.txt -r /tmp/requirements/requirements.txt

# The spaCy pipeline (entity rules) and the emotion pipeline, built from the files in
# bot/ exactly as `make setup` builds them.
FROM dependencies AS pipelines
ENV PATH=/opt/venv/bin:$PATH \
    TF_CPP_MIN_LOG_LEVEL=3 \
    RASA_TELEMETRY_ENABLED=false
WORKDIR /app
COPY bot/ bot/
COPY personal_data.yml ./
RUN python -m bot.spacy_pipeline models/spacy/tandem \
    && python -m bot.emotion.train models/emotion/tandem_emotion \
    && rm -rf bot/emotion/data/public \
    && mkdir /app/model

FROM pipelines AS model-train
COPY config.yml domain.yml ./
COPY data/ data/
RUN rasa data validate --quiet \
    && rasa train --fixed-model-name tandem --out /app/model

# The model comes from a volume mounted at /app/model.
FROM pipelines AS model-mount

# hadolint ignore=DL3006
FROM model-${MODEL_SOURCE} AS model

FROM python:3.10.16-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    RASA_TELEMETRY_ENABLED=false \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    TANDEM_VAR_DIR=/app/var
RUN groupadd --system --gid 10001 tandem \
    && useradd --system --uid 10001 --gid tandem --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin tandem
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
# The bot's code without the emotion training data, the two pipelines the model
# loads by path (config.yml), and the model itself unless it is mounted.
COPY --from=model /app/bot bot/
COPY --from=model /app/models models/
COPY --from=model /app/model model/
COPY credentials.yml personal_data.yml deploy/endpoints.cluster.yml \
    deploy/docker/probe.py ./
# The event broker's buffer of events the handoff service has not taken yet.
RUN mkdir /app/var && chown 10001:10001 /app/var
USER 10001:10001
EXPOSE 5005
# Rasa answers only once its model is loaded; the health routes need no API token.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "/app/probe.py", "http://127.0.0.1:5005/health/live"]
CMD ["python", "-m", "bot.server", "--model", "/app/model", "--enable-api", \
    "--interface", "0.0.0.0", "--port", "5005", \
    "--credentials", "credentials.yml", "--endpoints", "endpoints.cluster.yml"]
