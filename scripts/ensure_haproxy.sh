#!/usr/bin/env bash
# Installs Debian's HAProxy, the load balancer of `make run-cluster`, if it is missing.
set -euo pipefail

HAPROXY=${TANDEM_HAPROXY:-/usr/sbin/haproxy}
if [ -x "$HAPROXY" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "==> Installing HAProxy for the local cluster"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  # The cluster runs its own HAProxy with its own configuration; the package's
  # service, where it starts, listens on nothing with Debian's default one.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends haproxy
  exit 0
fi
echo "The local cluster needs HAProxy at $HAPROXY (Debian: apt-get install haproxy)," >&2
echo "or TANDEM_HAPROXY pointing at one." >&2
exit 1
