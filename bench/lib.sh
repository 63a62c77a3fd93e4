# Shared by the wrk benchmarks (bench/load.sh, bench/upstream.sh): medians, latency units and
# run_wrk, which runs one endpoint RUNS times and prints a table row (req/s, p50, p99 medians).
# Expects RUNS, THREADS, CONNECTIONS, DURATION, OUT and BACKEND.

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# wrk prints latencies as 1.23ms / 456.78us / 1.2s; normalise to milliseconds.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.3f\n", v}'; }

run_wrk() { # label url [script]
  local label=$1 url=$2 script=${3:-} rps=() p50=() p99=()
  for i in $(seq 1 "$RUNS"); do
    if [[ "$script" == bench/post_transaction.lua ]]; then
      # Fresh rates for this run: as many shipments as the server makes in one DURATION.
      export RATES_DIR="$OUT/rates-$BACKEND-$i"
      mkdir -p "$RATES_DIR"
      # Twice: purchases can outpace shipments (PostgreSQL bought 5,185 labels in a run that
      # had collected fewer fresh rates than that, and failed on "bought twice").
      for _ in 1 2; do
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/collect_rates.lua "${url%/transactions}/shipments" >/dev/null
      done
    fi
    local log="$OUT/$(echo "$BACKEND-$label" | tr -c "a-zA-Z0-9\n" "_").$i.log"
    if [[ -n "$script" ]]; then
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "$url" >"$log"
    else
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url" >"$log"
    fi
    if grep -Eq "Non-2xx|Socket errors|unsuccessful purchases: [1-9]|bought twice: [1-9]" "$log"; then echo "errors in $label:" >&2; cat "$log" >&2; exit 1; fi
    local r
    r=$(awk '/Requests\/sec/ {print $2}' "$log")
    if [[ -z "$r" ]]; then echo "wrk printed no rate for $label:" >&2; cat "$log" >&2; exit 1; fi
    rps+=("$r")
    p50+=("$(awk '$1=="50%" {print $2}' "$log" | to_ms)")
    p99+=("$(awk '$1=="99%" {print $2}' "$log" | to_ms)")
  done
  printf "| %s | %s | %s | %s |\n" "$label" \
    "$(printf '%s\n' "${rps[@]}" | median | awk '{printf "%.0f", $1}')" \
    "$(printf '%s\n' "${p50[@]}" | median)" "$(printf '%s\n' "${p99[@]}" | median)"
}

