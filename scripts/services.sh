#!/usr/bin/env bash
# Installs (when missing) and starts the services the test suite needs, on 127.0.0.1 only:
# PostgreSQL, Redis, Chromium with a CJK font for the browser tests, gettext for the
# translation checks, and nginx for the production topology's test (which starts its own nginx
# on a free 127.0.0.1 port; the package's service is never started). Safe to run again.
set -euo pipefail

DB_USER=app
DB_PASSWORD=app

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v pg_ctlcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v msgcmp >/dev/null || missing+=(gettext)
fc-list 2>/dev/null | grep -qi 'noto.*cjk' || missing+=(fonts-noto-cjk)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} ..."
  # Packages must not start their services (nginx would listen on every address): a
  # policy-rc.d that says no, only for this install when the machine has none of its own.
  made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
    made_policy=1
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  if [ -n "$made_policy" ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
fi

# PostgreSQL: the packaged cluster listens on localhost only by default.
if ! pg_lsclusters -h | grep -q .; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  as_root pg_createcluster "$version" main >/dev/null
fi
read -r pg_version pg_name _ pg_status _ < <(pg_lsclusters -h | head -n 1)
if [ "$pg_status" != online ]; then
  as_root pg_ctlcluster "$pg_version" "$pg_name" start
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
if ! as_root su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$DB_USER'\"" | grep -q 1; then
  as_root su postgres -c "psql -q -c \"CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD' CREATEDB;\""
fi

# Redis: bind to loopback explicitly (it listens everywhere otherwise); no persistence needed.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi

echo "Services ready: PostgreSQL $pg_version on 127.0.0.1:5432, Redis on 127.0.0.1:6379, $(/usr/bin/chromium --version 2>/dev/null | head -n 1), $(nginx -v 2>&1)"
