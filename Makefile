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

.PHONY: help setup run run-cluster train test test-faults test-deploy test-bot test-service test-rasa \
	test-e2e test-cluster test-faults lint format clean bench

help:
	@echo "make run    - install, build, train if needed, and start everything"
	@echo "make run-cluster - the same as a cluster: 2 Rasa, 2 action servers, 2 services,"
	@echo "              HAProxy in front, on the local PostgreSQL and Redis"
	@echo "make test   - install what the tests need and run every test and check"
	@echo "make test-faults - 20 faults on the cluster while customers and agents talk"
	@echo "make setup  - only install the environments and create .env"
	@echo "make train  - train the Rasa model if its inputs changed"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - every benchmark; results go to docs/benchmarks.md"
	@echo "make screenshots - take the README's pictures again (docs/images)"

setup: environments .env $(SPACY_MODEL)/meta.json $(EMOTION_MODEL)/meta.json

# The two environments install side by side, each one's output printed whole when it
# ends: most of the time goes to downloads. Everything else waits for both.
.PHONY: environments
ENVIRONMENTS := $(BOT_VENV)/.installed $(SERVICE_VENV)/.installed
environments:
	@$(MAKE) --no-print-directory -q $(ENVIRONMENTS) || { echo "==> Installing the \
	environments side by side (several minutes; each one's log follows when it ends)"; \
	$(MAKE) --no-print-directory -s -j2 --output-sync=target $(ENVIRONMENTS); }

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
		| environments
	@echo "==> Building the spaCy pipeline from bot/entity_patterns"
	$(BOT_BIN)/python -m bot.spacy_pipeline $(SPACY_MODEL)

# The emotion pipeline, trained from the GoEmotions and KOTE splits kept in
# bot/emotion/data/public and from bot/emotion/data/customer_service.tsv.
EMOTION_INPUTS := $(addprefix bot/emotion/,train.py features.py labels.py datasets.py \
	scoring.py evaluation.py rules.py data/customer_service.tsv)

$(EMOTION_MODEL)/meta.json: $(EMOTION_INPUTS) | environments
	@echo "==> Training the emotion pipeline (a few minutes)"
	$(BOT_BIN)/python -m bot.emotion.train $(EMOTION_MODEL)

$(MODEL): $(TRAINING_INPUTS) | environments
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

lint: environments
	$(SERVICE_BIN)/ruff check .
	$(SERVICE_BIN)/ruff format --check .
	$(SERVICE_BIN)/mypy handoff scripts deploy bench/queue*.py bench/escalation*.py bench/wait_*.py \
		bench/channel_*.py bench/cluster*.py
	$(BOT_BIN)/mypy --python-version 3.10 bot actions bench/nlu*.py bench/latency*.py \
		bench/emotion*.py bench/pii*.py

format: environments
	$(SERVICE_BIN)/ruff check --fix .
	$(SERVICE_BIN)/ruff format .

# The deployment files in deploy/, checked without Docker or a cluster: the schemas
# (vendored or packaged, never downloaded), hadolint, and our own rules.
test-deploy: environments
	$(SERVICE_BIN)/python -m pytest tests/deploy

test-bot: setup
	@scripts/ensure_services.sh
	$(BOT_BIN)/python -m pytest tests/bot

test-service: environments
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

# About four minutes: the cluster of `make run-cluster` (two Rasa servers) and
# customers and an agent whose every hop crosses from one process to another; then the
# short form of the fault suite (5 faults, tests/cluster/test_cluster_faults.py).
test-cluster: setup $(MODEL)
	@scripts/ensure_services.sh
	@scripts/ensure_haproxy.sh
	$(SERVICE_BIN)/python -m pytest tests/cluster

# The fault suite in full: 20 faults (kill -9 of Rasa, action and service processes,
# restarts of a PostgreSQL and a Redis of its own) while customers and agents talk.
# TANDEM_FAULTS_SEED replays a run's faults; TANDEM_FAULTS_REPORT=file keeps its report.
test-faults: setup $(MODEL)
	@scripts/ensure_haproxy.sh
	TANDEM_FAULTS=20 $(SERVICE_BIN)/python -m pytest -s tests/cluster/test_cluster_faults.py

# Two phases. The checks that start no stack run two at a time, one per core, each
# target's output printed whole when it ends; then the suites that start whole stacks,
# one after the other, since each of them loads both cores by itself. The service's
# suite, the longest, needs only the environments: it starts at once, while the other
# core builds the spaCy and emotion pipelines and trains the model for the bot's.
test: environments
	@scripts/ensure_services.sh
	@$(MAKE) --no-print-directory -j2 --output-sync=target \
		test-service test-rasa test-bot lint test-deploy
	@$(MAKE) --no-print-directory test-e2e test-cluster

# The README's pictures, taken by the browser tests of the round trip and of the
# supervisor dashboard against the real stack.
.PHONY: screenshots
screenshots: setup $(MODEL)
	@scripts/ensure_chromium.sh
	@scripts/ensure_screenshot_fonts.sh
	TANDEM_SCREENSHOT_DIR=docs/images $(SERVICE_BIN)/python -m pytest \
		tests/e2e/test_browser_round_trip.py tests/e2e/test_supervisor_page.py

# Benchmarks: long-running, never part of `make test`. Each writes its section of
# docs/benchmarks.md.
bench: bench-escalation bench-emotion bench-nlu bench-latency bench-queue bench-pii bench-wait \
	bench-channels bench-cluster

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

# About six minutes: the time from webhook in to platform call out on every messaging
# channel against the web chat, and KakaoTalk's five seconds with 20 conversations at
# once, on the stack with the platforms' stand-ins (tests/standins/).
.PHONY: bench-channels
bench-channels: setup $(MODEL)
	$(SERVICE_BIN)/python -m bench.channel_latency --model $(MODEL)

# About seven minutes: the single stack beside the cluster with 1, 2 and 3 Rasa servers,
# each under simulated web chat customers and agents through HAProxy, on databases
# and Redis keys of the run's own: throughput, latency, CPU and memory per process.
.PHONY: bench-cluster
bench-cluster: setup $(MODEL)
	@scripts/ensure_services.sh
	@scripts/ensure_haproxy.sh
	$(SERVICE_BIN)/python -m bench.cluster --model $(MODEL)

# Under a minute: precision and recall of personal-data masking on the labelled set in
# tests/pii/, and its cost per message.
.PHONY: bench-pii
bench-pii: setup
	$(BOT_BIN)/python -m bench.pii

clean:
	rm -rf models results .mypy_cache .ruff_cache .pytest_cache
