#!/usr/bin/env bash
# Starts the local PostgreSQL server the integration tests use, if it is not running.
set -euo pipefail

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  exit 0
fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  echo "==> Starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
    sleep 1
  done
fi
echo "PostgreSQL is not reachable on 127.0.0.1:5432; the PostgreSQL tests need it." >&2
echo "Point TANDEM_TEST_POSTGRES_URL at a server, or start one." >&2
exit 1
