#!/usr/bin/env bash
# Runs the walkthroughs of README.md, docs/ORDERS.md and docs/CROWDFUNDING.md exactly as printed,
# against a real `consign serve`, so that what a reader pastes from a fresh clone is known to work.
#
#   scripts/walkthroughs.sh                   on SQLite
#   scripts/walkthroughs.sh postgres://user@host:5432/postgres
#                         on PostgreSQL: a fresh database on that server for each document
#                         (consign_e2e_walk_<pid>_<n>, dropped at the end; needs psql)
#   BIN=path/to/consign   use that binary instead of building target/debug/consign
#   VERBOSE=1             print every block and its output, not only failures
#   SKIP_SDK=1            skip the python blocks that use Shippo's SDK (it comes from PyPI)
#
# What runs: every fenced block opened with ```sh, ```bash or ```python, in document order. Each
# document gets its own fresh server (a free port, a fresh data directory, or the database given)
# and its own bash shell, so variables carry from block to block as in a reader's terminal, and
# each document must stand on its own. The shell runs with `set -euo pipefail`: the first command
# that fails, or that uses a variable no earlier block set, stops the run, naming the document and
# line.
#
# A ```python block runs as a script of its own (python3; the variables it needs it reads from the
# environment, exported by an earlier sh block), with target/sdk-venv's python when it imports
# Shippo's SDK: the script installs shippo==3.9.0 there as scripts/test.sh does, unless
# SKIP_SDK=1 (then such blocks are reported skipped). Blocks that are not commands use another
# fence: ```text (sample output), ```json, or a bare ```. Markers, HTML comments on the lines
# right before a block's opening fence (GitHub does not render them):
#
#   <!-- walkthrough: skip REASON -->   do not run this block (it starts the server itself,
#                                       needs a real provider key, another machine, ...)
#   <!-- walkthrough: http-errors-expected -->
#                                       the block's curl does not fail on HTTP errors (a block
#                                       that shows a 401 or a 404; keep such blocks short)
#   <!-- expect: TEXT -->               the block's output (stdout and stderr) must contain TEXT,
#                                       byte for byte; several such lines may precede a block
#
# Write expectations for what the block's comments say it shows (`# → "status": "SUCCESS"`),
# as the server prints it (compact JSON: "status":"SUCCESS").
#
# The only changes made to the printed text before it runs:
#   localhost:8080, 127.0.0.1:8080  →  the same host, this run's port
#   target/release/consign          →  the binary under test (by default target/debug/consign;
#                                      the docs say release because a reader runs `cargo run
#                                      --release -- serve`)
# and, in the shell that runs the blocks:
#   curl is `curl --fail-with-body --max-time 60` (a wrapper first in PATH): an HTTP status of
#   400 or more fails the step, and a hung server cannot hang the run (nor can a polling loop
#   that never ends: a document gets WALKTHROUGH_TIMEOUT seconds, default 600).
#
# The blocks run in a fresh temporary directory whose `examples` is the repository's examples/
# (so `--data-binary @examples/orders.csv` reads the repository's file and `label.pdf` lands in
# the temporary directory, not in the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DB_URL="${1:-}"
DOCS=(${WALKTHROUGH_DOCS:-README.md docs/ORDERS.md docs/CROWDFUNDING.md})

if [[ -z "${BIN:-}" ]]; then
  cargo build -q -p consign --bin consign
  BIN=$ROOT/target/debug/consign
fi
BIN=$(realpath "$BIN")
source scripts/lib.sh

WORK=$(mktemp -d)
cleanup() { [[ -n "${SERVER_PID:-}" ]] && stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

# Split the documents into blocks: $WORK/<n>/{block.sh or block.py, doc, line, expect, skip,
# http-errors-expected}.
python3 - "$WORK" "${DOCS[@]}" <<'PY'
import os, re, sys
work, docs = sys.argv[1], sys.argv[2:]
n = 0
for doc in docs:
    lines = open(doc, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        lang, start = fence.group(2), i
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        if j == len(lines):
            sys.exit(f"{doc}:{start + 1}: a fenced block is never closed")
        if lang in ("sh", "bash", "python"):
            expects, skip, open_errors, k = [], None, False, start - 1
            while k >= 0 and lines[k].strip().startswith("<!--"):
                m = re.match(r"^\s*<!--\s*(expect|walkthrough):\s?(.*?)\s*-->\s*$", lines[k])
                if m and m.group(1) == "expect":
                    expects.insert(0, m.group(2))
                elif m and m.group(2).startswith("skip"):
                    skip = m.group(2)[4:].strip() or "skipped"
                elif m and m.group(2) == "http-errors-expected":
                    open_errors = True
                else:
                    sys.exit(f"{doc}:{k + 1}: unknown marker {lines[k].strip()!r}")
                k -= 1
            n += 1
            d = os.path.join(work, f"{n:03d}")
            os.makedirs(d)
            body = "\n".join(l[len(fence.group(1)):] if l.startswith(fence.group(1)) else l
                             for l in lines[start + 1:j])
            open(os.path.join(d, "block.py" if lang == "python" else "block.sh"), "w").write(body + "\n")
            open(os.path.join(d, "doc"), "w").write(doc)
            open(os.path.join(d, "line"), "w").write(str(start + 2))
            open(os.path.join(d, "expect"), "w").write("".join(e + "\n" for e in expects))
            if open_errors:
                open(os.path.join(d, "http-errors-expected"), "w").write("")
            if skip is not None:
                open(os.path.join(d, "skip"), "w").write(skip)
        i = j + 1
PY

# The blocks' curl: an HTTP status of 400 or more fails the command, a hung server cannot hang it.
mkdir "$WORK/bin"
cat >"$WORK/bin/curl" <<EOF
#!/bin/sh
if [ -n "\${WALKTHROUGH_HTTP_ERRORS_EXPECTED:-}" ]; then exec $(command -v curl) --max-time 60 "\$@"; fi
exec $(command -v curl) --fail-with-body --max-time 60 "\$@"
EOF
chmod +x "$WORK/bin/curl"

# Shippo's SDK for the python blocks that use it (the same venv as scripts/test.sh's SDK check).
SDK_PYTHON=
if [[ "${SKIP_SDK:-}" != "1" ]]; then
  VENV=$ROOT/target/sdk-venv
  if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import shippo' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "shippo==3.9.0"
  fi
  SDK_PYTHON=$VENV/bin/python
fi

# Runs one document's blocks in one shell; exits non-zero at the first failure.
run_document() { # $1 = document, $2 = server URL
  local doc=$1 url=$2 port=${2##*:} runner=$WORK/run-${1//\//_}.sh dir
  cat >"$runner" <<EOF
set -euo pipefail
exec 3>&1   # the traps report here: while a block runs, stdout is its output file
__block=    # "doc:line|output file" of the block running, for a failure the ERR trap does not see
trap 'if [[ -n "\$__block" ]]; then echo "FAILED: the block at \${__block%%|*} (an unset variable?)"; sed "s/^/  | /" "\${__block#*|}"; fi >&3' EXIT
export PATH="$WORK/bin:\$PATH"   # curl: see the top of scripts/walkthroughs.sh
cd "$WORK/cwd"
EOF
  for dir in "$WORK"/*/; do
    [[ -f "$dir/doc" && "$(cat "$dir/doc")" == "$doc" ]] || continue
    local line
    line=$(cat "$dir/line")
    if [[ -f "$dir/skip" ]]; then
      echo "echo '   $doc:$line skipped: $(sed "s/'/'\\\\''/g" "$dir/skip")'" >>"$runner"
      continue
    fi
    local rewrite=(-e "s#localhost:8080#localhost:$port#g" -e "s#127\.0\.0\.1:8080#127.0.0.1:$port#g"
      -e "s#target/release/consign#$BIN#g")
    if [[ -f "$dir/block.py" ]]; then
      local python=python3
      if grep -q '^import shippo\|^from shippo' "$dir/block.py"; then
        if [[ -z "$SDK_PYTHON" ]]; then
          echo "echo '   $doc:$line skipped: it needs Shippo'\''s SDK (SKIP_SDK=1)'" >>"$runner"
          continue
        fi
        python=$SDK_PYTHON
      fi
      sed "${rewrite[@]}" "$dir/block.py" >"$dir/run.py"
      echo "\"$python\" \"$dir/run.py\"" >"$dir/run.sh"
    else
      sed "${rewrite[@]}" "$dir/block.sh" >"$dir/run.sh"
    fi
    cat >>"$runner" <<EOF
__t=\${EPOCHREALTIME/./}
trap '__rc=\$?; __block=; { echo "FAILED: $doc:\$(( $line + LINENO - 1 )) (exit \$__rc)"; sed "s/^/  | /" "$dir/out"; } >&3; exit 1' ERR
__block="$doc:$line|$dir/out"
WALKTHROUGH_HTTP_ERRORS_EXPECTED=\$([[ -f "$dir/http-errors-expected" ]] && echo 1 || true)
export WALKTHROUGH_HTTP_ERRORS_EXPECTED
source "$dir/run.sh" >"$dir/out" 2>&1
trap - ERR
__block=
while IFS= read -r __want; do
  if ! grep -qF -- "\$__want" "$dir/out"; then
    echo "FAILED: $doc:$line: the output does not contain: \$__want"; sed "s/^/  | /" "$dir/out"; exit 1
  fi
done <"$dir/expect"
echo "   $doc:$line ok (\$(( (\${EPOCHREALTIME/./} - __t) / 1000 )) ms)"
if [[ -n "${VERBOSE:-}" ]]; then sed 's/^/  $ /' "$dir/run.sh"; sed 's/^/  | /' "$dir/out"; fi
EOF
  done
  local rc=0
  timeout "${WALKTHROUGH_TIMEOUT:-600}" bash "$runner" || rc=$?
  if [[ $rc == 124 ]]; then echo "FAILED: $doc took longer than ${WALKTHROUGH_TIMEOUT:-600} s"; fi
  return $rc
}

DATABASES=()
drop_databases() {
  local db
  for db in "${DATABASES[@]}"; do psql "$DB_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true; done
}
cleanup() { [[ -n "${SERVER_PID:-}" ]] && stop_server; drop_databases; rm -rf "$WORK"; }

start=$(date +%s)
n=0
for doc in "${DOCS[@]}"; do
  echo "-- $doc${DB_URL:+ (PostgreSQL)}"
  rm -rf "$WORK/cwd"; mkdir "$WORK/cwd"; ln -s "$ROOT/examples" "$WORK/cwd/examples"
  url=
  if [[ -n "$DB_URL" ]]; then
    n=$((n + 1)); DATABASES+=("consign_e2e_walk_$$_$n")
    psql "$DB_URL" -qc "CREATE DATABASE consign_e2e_walk_$$_$n"
    url="${DB_URL%/*}/consign_e2e_walk_$$_$n"
  fi
  start_server "$BIN" "$url"
  if ! run_document "$doc" "$SERVER_URL"; then
    echo; echo "server log (last 30 lines):"; tail -n 30 "$SERVER_DIR/serve.log"
    exit 1
  fi
  stop_server
  SERVER_PID=
done
echo "== walkthroughs passed in $(( $(date +%s) - start )) s"
