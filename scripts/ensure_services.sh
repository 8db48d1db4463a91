#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis servers the integration tests and the local
# cluster use, if they are not running.
set -euo pipefail

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    return 0
  fi
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "==> Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    for _ in $(seq 1 30); do
      pg_isready -q -h 127.0.0.1 -p 5432 && return 0
      sleep 1
    done
  fi
  echo "PostgreSQL is not reachable on 127.0.0.1:5432; the PostgreSQL tests need it." >&2
  echo "Point TANDEM_TEST_POSTGRES_URL at a server, or start one." >&2
  return 1
}

# The clustered Rasa servers' lock store and socket.io messages (tests/bot).
ensure_redis() {
  if [ -n "${TANDEM_TEST_REDIS_URL:-}" ]; then
    return 0
  fi
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    return 0
  fi
  if command -v redis-server >/dev/null; then
    echo "==> Starting Redis"
    redis-server --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --daemonize yes >/dev/null
    for _ in $(seq 1 30); do
      redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && return 0
      sleep 1
    done
  fi
  echo "Redis is not reachable on 127.0.0.1:6379; the cluster tests need it." >&2
  echo "Point TANDEM_TEST_REDIS_URL at a server, or start one." >&2
  return 1
}

ensure_postgres
ensure_redis
