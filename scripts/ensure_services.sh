#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis servers the integration tests and the local
# cluster use, if they are installed but not running.
set -euo pipefail

redis_answers() {
  (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 &&
    read -r -t 2 reply <&3 && [[ $reply == +PONG* || $reply == -NOAUTH* ]]) 2>/dev/null
}

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "==> Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    for _ in $(seq 1 30); do
      pg_isready -q -h 127.0.0.1 -p 5432 && break
      sleep 1
    done
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "PostgreSQL is not reachable on 127.0.0.1:5432; the PostgreSQL tests need it." >&2
    echo "Point TANDEM_TEST_POSTGRES_URL at a server, or start one." >&2
    exit 1
  fi
fi

if ! redis_answers; then
  if [ -x /etc/init.d/redis-server ]; then
    echo "==> Starting Redis"
    /etc/init.d/redis-server start >/dev/null
    for _ in $(seq 1 30); do
      redis_answers && break
      sleep 1
    done
  fi
  if ! redis_answers; then
    echo "Redis is not reachable on 127.0.0.1:6379; the lock store, socket.io and" >&2
    echo "cluster tests need it. Point TANDEM_TEST_REDIS_URL at a server, or start one." >&2
    exit 1
  fi
fi
