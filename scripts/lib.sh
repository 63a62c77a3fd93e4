# Shared by scripts/test.sh and bench/load.sh: start a `consign serve` on a free port.
#
#   start_server BIN DATABASE_URL   (empty DATABASE_URL = SQLite in a fresh data directory)
# sets SERVER_DIR, SERVER_PORT, SERVER_PID, SERVER_URL and exports CONSIGN_* so that
# `$BIN token create` talks to the same database; stop_server stops it and removes the directory.
start_server() {
  local bin=$1 url=$2
  SERVER_DIR=$(mktemp -d)
  SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  SERVER_URL="http://127.0.0.1:$SERVER_PORT"
  export CONSIGN_DATA_DIR="$SERVER_DIR" CONSIGN_LISTEN="127.0.0.1:$SERVER_PORT" CONSIGN_LOG=${CONSIGN_LOG:-warn}
  if [[ -n "$url" ]]; then export CONSIGN_DATABASE_URL="$url"; else unset CONSIGN_DATABASE_URL; fi
  unset DATABASE_URL
  "$bin" serve >"$SERVER_DIR/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -sf "$SERVER_URL/health" >/dev/null && return 0; sleep 0.1; done
  echo "consign serve did not become healthy:" >&2
  cat "$SERVER_DIR/serve.log" >&2
  return 1
}

# Safe to call twice, or before any start (an EXIT trap calls it whatever happened).
stop_server() {
  [[ -n "${SERVER_PID:-}" ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "${SERVER_DIR:-}"
  SERVER_PID=
}
