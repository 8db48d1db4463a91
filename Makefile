# Tandem: one command for each habit. `make run` and `make test` install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BOT_VENV := .venv/bot
SERVICE_VENV := .venv/handoff
BOT_BIN := $(BOT_VENV)/bin
SERVICE_BIN := $(SERVICE_VENV)/bin
SPACY_MODEL := models/spacy/tandem
EMOTION_MODEL := models/emotion/tandem_emotion
MODEL := models/tandem.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*/*.yml) \
	bot/language_detection.py bot/escalation_policy.py bot/message_tracking.py \
	bot/emotion_tracking.py bot/emotion/component.py \
	$(wildcard bot/nlu/*.py) \
	$(SPACY_MODEL)/meta.json $(EMOTION_MODEL)/meta.json
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup run run-cluster train test test-deploy test-bot test-service test-rasa \
	test-e2e test-cluster lint format clean bench

help:
	@echo "make run    - install, build, train if needed, and start everything"
	@echo "make run-cluster - the same as a cluster: 2 Rasa, 2 action servers, 2 services,"
	@echo "              HAProxy in front, on the local PostgreSQL and Redis"
	@echo "make test   - install what the tests need and run every test and check"
	@echo "make setup  - only install the environments and create .env"
	@echo "make train  - train the Rasa model if its inputs changed"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - every benchmark; results go to docs/benchmarks.md"

setup: $(BOT_VENV)/.installed $(SERVICE_VENV)/.installed .env $(SPACY_MODEL)/meta.json \
	$(EMOTION_MODEL)/meta.json

$(BOT_VENV)/.installed: bot/requirements.txt bot/requirements-dev.txt bot/constraints.txt
	@echo "==> Installing the bot environment (Python 3.10, Rasa 3.6)"
	@python=$$(scripts/find_python.sh 3.10) && \
		rm -rf $(BOT_VENV) && "$$python" -m venv $(BOT_VENV)
	$(BOT_BIN)/pip install --quiet --upgrade "pip<24.1"
	$(BOT_BIN)/pip install --progress-bar off -c bot/constraints.txt \
		-r bot/requirements.txt -r bot/requirements-dev.txt
	@touch $@

$(SERVICE_VENV)/.installed: handoff/requirements.txt handoff/requirements-dev.txt
	@echo "==> Installing the handoff service environment (Python 3.11+)"
	@python=$$(scripts/find_python.sh 3.11 3.12 3.13) && \
		rm -rf $(SERVICE_VENV) && "$$python" -m venv $(SERVICE_VENV)
	$(SERVICE_BIN)/pip install --progress-bar off \
		-r handoff/requirements.txt -r handoff/requirements-dev.txt
	@touch $@

.env: .env.example
	@python3 scripts/make_env.py .env

$(SPACY_MODEL)/meta.json: bot/spacy_pipeline.py $(wildcard bot/entity_patterns/*.jsonl) \
		| $(BOT_VENV)/.installed
	@echo "==> Building the spaCy pipeline from bot/entity_patterns"
	$(BOT_BIN)/python -m bot.spacy_pipeline $(SPACY_MODEL)

# The emotion pipeline, trained from the GoEmotions and KOTE splits kept in
# bot/emotion/data/public and from bot/emotion/data/customer_service.tsv.
EMOTION_INPUTS := $(addprefix bot/emotion/,train.py features.py labels.py datasets.py \
	scoring.py evaluation.py rules.py data/customer_service.tsv)

$(EMOTION_MODEL)/meta.json: $(EMOTION_INPUTS) | $(BOT_VENV)/.installed
	@echo "==> Training the emotion pipeline (a few minutes)"
	$(BOT_BIN)/python -m bot.emotion.train $(EMOTION_MODEL)

$(MODEL): $(TRAINING_INPUTS) | $(BOT_VENV)/.installed
	@echo "==> Validating the training data"
	$(BOT_BIN)/rasa data validate --quiet
	@echo "==> Training the Rasa model (about a minute)"
	$(BOT_BIN)/rasa train --fixed-model-name tandem --out models
	@touch $@

train: setup $(MODEL)

run: setup $(MODEL)
	@python3 scripts/run_stack.py --env-file .env --model $(MODEL)

# Several Rasa servers, action servers and service instances behind HAProxy, on the
# machine's PostgreSQL and Redis (docs/architecture.md, "Running as a cluster").
run-cluster: setup $(MODEL)
	@scripts/ensure_services.sh
	@scripts/ensure_haproxy.sh
	@python3 scripts/run_cluster.py --env-file .env --model $(MODEL)

lint: setup
	$(SERVICE_BIN)/ruff check .
	$(SERVICE_BIN)/ruff format --check .
	$(SERVICE_BIN)/mypy handoff scripts deploy bench/queue*.py bench/escalation*.py bench/wait_*.py
	$(BOT_BIN)/mypy --python-version 3.10 bot actions bench/nlu*.py bench/latency*.py \
		bench/emotion*.py bench/pii*.py

format: setup
	$(SERVICE_BIN)/ruff check --fix .
	$(SERVICE_BIN)/ruff format .

# The deployment files in deploy/, checked without Docker or a cluster: the schemas
# (vendored or packaged, never downloaded), hadolint, and our own rules.
test-deploy: setup
	$(SERVICE_BIN)/python -m pytest tests/deploy

test-bot: setup
	@scripts/ensure_services.sh
	$(BOT_BIN)/python -m pytest tests/bot

test-service: setup
	@scripts/ensure_services.sh
	$(SERVICE_BIN)/python -m pytest tests/handoff tests/escalation

test-rasa: setup $(MODEL)
	$(BOT_BIN)/rasa data validate --quiet
	$(BOT_BIN)/rasa test core --model $(MODEL) --stories tests/stories \
		--out results/core --fail-on-prediction-errors
	$(BOT_BIN)/rasa test nlu --model $(MODEL) --nlu tests/test_nlu.yml --out results/nlu
	python3 scripts/check_nlu_report.py results/nlu/intent_report.json 0.85

test-e2e: setup $(MODEL)
	@scripts/ensure_chromium.sh
	$(SERVICE_BIN)/python -m pytest tests/e2e

# About a minute and a half: the cluster of `make run-cluster` (two Rasa servers) and
# customers and an agent whose every hop crosses from one process to another.
test-cluster: setup $(MODEL)
	@scripts/ensure_services.sh
	@scripts/ensure_haproxy.sh
	$(SERVICE_BIN)/python -m pytest tests/cluster

test: lint test-deploy test-bot test-service test-rasa test-e2e test-cluster

# Benchmarks: long-running, never part of `make test`. Each writes its section of
# docs/benchmarks.md.
bench: bench-escalation bench-emotion bench-nlu bench-latency bench-queue bench-pii bench-wait

# Precision and recall of "needs a person" on the labelled set in tests/escalation/.
.PHONY: bench-escalation
bench-escalation: setup $(MODEL)
	$(SERVICE_BIN)/python -m bench.escalation --model $(MODEL)

# The handoff queue under load, on SQLite and on a PostgreSQL database created for the
# run: claim throughput, message relay delays, memory, contested claims on two instances.
.PHONY: bench-queue
bench-queue: setup
	@scripts/ensure_services.sh
	$(SERVICE_BIN)/python -m bench.queue --write

# Under a minute: the wait estimate against the real waits of simulated queues (the
# dispatcher's rules, the service's own estimator), beside the previous formula.
.PHONY: bench-wait
bench-wait: setup
	$(SERVICE_BIN)/python -m bench.wait_report --write

# The emotion component (F1, latency, memory) beside a TF-IDF + logistic-regression
# baseline trained in the same run.
.PHONY: bench-emotion
bench-emotion: setup $(EMOTION_MODEL)/meta.json
	$(BOT_BIN)/python -m bench.emotion --model $(EMOTION_MODEL)

# About eight minutes: Banking77, CLINC150 and the bot's own examples through Rasa's
# training with config.yml's pipeline, and the same without its sentence encoder.
.PHONY: bench-nlu
bench-nlu: setup
	$(BOT_BIN)/python -m bench.nlu

# Starts Tandem and a vanilla `rasa init` bot on free ports on 127.0.0.1.
.PHONY: bench-latency
bench-latency: setup $(MODEL)
	$(BOT_BIN)/python -m bench.latency --model $(MODEL)

# Under a minute: precision and recall of personal-data masking on the labelled set in
# tests/pii/, and its cost per message.
.PHONY: bench-pii
bench-pii: setup
	$(BOT_BIN)/python -m bench.pii

clean:
	rm -rf models results .mypy_cache .ruff_cache .pytest_cache
