#!/usr/bin/env bash
# Makes sure PostgreSQL answers at 127.0.0.1:5432 with a database "test"
# that user postgres reaches without a password, as the tests expect
# (BROKER_TEST_POSTGRES overrides the URL). Starts the cluster if it is
# installed but stopped; installs Debian's PostgreSQL if it is missing.
# Fails loudly otherwise: PostgreSQL tests must never skip in CI.
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not installed: installing Debian's package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
if ! ready; then
  echo "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
for _ in $(seq 1 30); do ready && break; sleep 1; done
if ! ready; then
  echo "PostgreSQL does not answer at 127.0.0.1:5432: the PostgreSQL tests cannot run" >&2
  exit 1
fi
# Password-less local access for the tests (trust), as on the dev machines.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  hba=$(su postgres -c "psql -Atc 'show hba_file'")
  sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  su postgres -c "psql -Atc 'select pg_reload_conf()'" >/dev/null
fi
if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname = 'test'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database test'
fi
echo "PostgreSQL $version ready at 127.0.0.1:5432 (database test)"
