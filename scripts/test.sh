#!/usr/bin/env bash
# Runs every test: unit and HTTP integration tests on SQLite and on PostgreSQL (with a real S3
# server for object storage), then Shippo's official Python SDK and schemathesis against a real
# `consign serve` on each backend; the documents' walkthroughs run as printed against a real
# server (scripts/walkthroughs.sh) on both; the web app in Debian's chromium (scripts/browser.sh).
#
#   PG_URL      PostgreSQL server for the PostgreSQL run (default postgres://postgres@127.0.0.1:5432/postgres)
#   SKIP_SDK=1  skip the Python SDK check and schemathesis (they need PyPI the first time)
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

ensure_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
}

# A real S3-protocol server for the object-storage tests (moto's, from PyPI).
S3_VENV=target/s3-venv
if [[ ! -x "$S3_VENV/bin/moto_server" ]]; then
  echo "== installing an S3 server for the storage tests (moto, from PyPI)"
  python3 -m venv "$S3_VENV"
  "$S3_VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==5.1.*"
fi

echo "== tests on SQLite"
cargo test --workspace
# Tests with a precondition are #[ignore]d in plain runs (named in the summary as ignored) and run
# here, where a missing precondition fails them: the S3 server (installed above).
echo "== object storage test on SQLite (needs the S3 server)"
cargo test -p consign --test api -- --ignored storage::

echo "== store and HTTP tests on PostgreSQL"
ensure_postgres
CONSIGN_TEST_DATABASE_URL="$PG_URL" cargo test -p consign-store --test jobs --test cancel
CONSIGN_TEST_DATABASE_URL="$PG_URL" cargo test -p consign --test api -- --include-ignored

echo "== the walkthroughs of README.md, docs/ORDERS.md and docs/CROWDFUNDING.md as printed (SQLite, then PostgreSQL)"
./scripts/walkthroughs.sh
./scripts/walkthroughs.sh "$PG_URL"

drop_test_databases() {
  psql "$PG_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'consign\_test\_%' OR datname LIKE 'consign\_e2e\_%'" |
    while read -r db; do psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true; done
}
drop_test_databases

if [[ "${SKIP_SDK:-}" == "1" ]]; then
  echo "== skipping the Shippo SDK check (SKIP_SDK=1)"
  exit 0
fi

echo "== Shippo Python SDK end-to-end"
VENV=target/sdk-venv
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import shippo' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "shippo==3.9.0"
fi
cargo build -q -p consign --bin consign --example fake_provider
BIN=target/debug/consign

source scripts/lib.sh
# A fake EasyPost (the tests' fake, answering with EasyPost's recorded traffic) for the SDK check's
# upstream-provider part.
FAKE_OUT=$(mktemp)
target/debug/examples/fake_provider EZTK_bench_key >"$FAKE_OUT" 2>&1 &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [[ -s "$FAKE_OUT" ]] && break; sleep 0.1; done
export FAKE_EASYPOST
FAKE_EASYPOST=$(head -1 "$FAKE_OUT")
run_sdk_check() { # $1 = label, $2 = database URL or empty for SQLite
  # The check's webhook receiver listens on loopback.
  export CONSIGN_ALLOW_PRIVATE_NETWORK=true
  start_server "$BIN" "$2"
  local token
  # A merchant starting from nothing, as the check expects (it counts the addresses it lists):
  # the demo account holds the sender address `consign serve` gives it for the web app.
  "$BIN" account create sdk-check >/dev/null
  token=$("$BIN" token create --mode test --account sdk-check)
  echo "-- $1"
  if ! CONSIGN_URL="$SERVER_URL" CONSIGN_TOKEN="$token" "$VENV/bin/python" e2e/shippo_sdk_check.py; then
    cat "$SERVER_DIR/serve.log"
    stop_server
    exit 1
  fi
  stop_server
}

run_sdk_check "SQLite" ""
e2e_db="consign_e2e_$$"
psql "$PG_URL" -qc "CREATE DATABASE $e2e_db"
run_sdk_check "PostgreSQL" "${PG_URL%/*}/$e2e_db"

echo "== the web app in a real browser (chromium + Playwright; SQLite, then PostgreSQL)"
./scripts/browser.sh
br_db="consign_e2e_browser_$$"
psql "$PG_URL" -qc "CREATE DATABASE $br_db"
BROWSER_DATABASE_URL="${PG_URL%/*}/$br_db" ./scripts/browser.sh

echo "== schemathesis against /openapi.json (SQLite, then PostgreSQL)"
ST_MAX_TIME="${ST_MAX_TIME:-90}" ./scripts/schemathesis.sh ""
st_db="consign_e2e_st_$$"
psql "$PG_URL" -qc "CREATE DATABASE $st_db"
ST_MAX_TIME="${ST_MAX_TIME:-90}" ./scripts/schemathesis.sh "${PG_URL%/*}/$st_db"
drop_test_databases
echo "== all tests passed"
