#!/usr/bin/env bash
# Outbox schema candidates for issue #15 (kept history as cheap as retention 0), measured with SQL alone:
# for each candidate and mode (keep=0 deletes claimed rows, keep=1 retires them as kept history),
# preload ROWS rows (bench/outbox_preload.sql), then one session runs ROWS/BATCH prepared claim+retire
# statements (autocommit, synchronous_commit off, as bench/relay.sh's pgbench); reports that backend's
# CPU per row (its /proc/self/stat, steadier than rows/s on a shared machine) and rows/s. Candidates
# run interleaved, ROUNDS times, each in its own database of one throwaway cluster.
#
#   bench/outbox_candidates.sh            (after `make build`: it migrates with outboxd)
#   ROWS=100000 ROUNDS=3 CANDIDATES="today queue" bench/outbox_candidates.sh
#
# Candidates (bench/candidates/*.sql on top of the migrations; none is a migration):
#   today         the migrations as they are (bench/outbox_claim.pgbench.sql)
#   today-nopay   the same claim without payload and headers: the bound of any payload format
#   json          payload and headers as json, the text as stored (candidates/json.sql)
#   queue         narrow pending queue, HOT marking at fillfactor 50 (candidates/queue.sql)
#   queue-json    both
#   queue-delete  queue, its claim deleting the queue rows it takes (candidates/claim_queue_delete.pgbench.sql)
#   queue-delete-json  and payload as json
#   delivery      narrow pending queue, insert-only outbox, deliveries in a narrow table (candidates/delivery.sql)
# Results appended to bench/results/outbox-candidates.txt.
set -euo pipefail
name=outbox_candidates.sh
source "$(dirname "$0")/lib.sh"

ROWS=${ROWS:-100000}
BATCH=${BATCH:-500}
ROUNDS=${ROUNDS:-2}
CANDIDATES=${CANDIDATES:-today today-nopay json queue queue-json queue-delete queue-delete-json delivery}
[[ $ROWS =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 1000 ] || die "ROWS must be an integer >= 1000 (got '$ROWS')"
[[ $BATCH =~ ^[0-9]+$ ]] && [ "$BATCH" -ge 1 ] || die "BATCH must be a positive integer (got '$BATCH')"
[[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] || die "ROUNDS must be a positive integer (got '$ROUNDS')"

bench_start_cluster
server=${DATABASE_URL%/*}
schema_of() { case $1 in today|today-nopay) ;; json) echo json ;; queue|queue-delete) echo queue ;; queue-json|queue-delete-json) echo "queue json" ;; delivery) echo delivery ;;
              *) die "unknown candidate '$1' (today today-nopay json queue queue-json queue-delete queue-delete-json delivery)" ;; esac; }
claim_of() { case $1 in today|json) echo bench/outbox_claim.pgbench.sql ;; today-nopay) echo "$dir/claim-nopay.sql" ;;
             queue|queue-json) echo bench/candidates/claim_queue.pgbench.sql ;; queue-delete|queue-delete-json) echo bench/candidates/claim_queue_delete.pgbench.sql ;; delivery) echo bench/candidates/claim_delivery.pgbench.sql ;; esac; }
sed -e 's/o\.payload::text AS payload,/o.id AS no_payload,/; s/^ *o\.headers::text AS headers, / /' bench/outbox_claim.pgbench.sql >"$dir/claim-nopay.sql"
grep -q no_payload "$dir/claim-nopay.sql" || die "could not derive the claim without payload"
for c in $CANDIDATES; do
  db=cand_${c//-/_}
  "$psql" "$server/postgres" -XAtqc "CREATE DATABASE $db TEMPLATE ${DATABASE_URL##*/}" >/dev/null
  for s in $(schema_of "$c"); do
    "$psql" "$server/$db" -Xq -v ON_ERROR_STOP=1 -f "bench/candidates/$s.sql" || die "candidate $c: $s.sql failed"
  done
done

statements=$(( (ROWS + BATCH - 1) / BATCH ))
lines=() problems=()
for round in $(seq 1 "$ROUNDS"); do
  for c in $CANDIDATES; do
    url=$server/cand_${c//-/_}
    for keep in 0 1; do
      "$psql" "$url" -XAtq -c "TRUNCATE outbox" -c "DO \$\$ BEGIN IF to_regclass('outbox_queue') IS NOT NULL THEN TRUNCATE outbox_queue; END IF;
                               IF to_regclass('outbox_delivery') IS NOT NULL THEN TRUNCATE outbox_delivery; END IF; END \$\$" >/dev/null
      "$psql" "$url" -Xq -v ON_ERROR_STOP=1 -v rows="$ROWS" -f bench/outbox_preload.sql >/dev/null
      {
        echo "SET synchronous_commit = off;"
        case $c in queue*) echo "SET outboxd.maintains_queue = on;" ;; esac
        echo "PREPARE claim(int, int) AS"
        sed -e '/^--/d; s/:batch/$1/g; s/:keep/$2/g; s/;$//' "$(claim_of "$c")"
        echo ";"
        echo "SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint AS t0, extract(epoch FROM clock_timestamp()) AS w0 FROM pg_read_file('/proc/self/stat') s \\gset"
        for _ in $(seq 1 "$statements"); do echo "EXECUTE claim($BATCH, $keep) \\g /dev/null"; done
        echo "SELECT round((split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint - :t0) * 1e6 / $(getconf CLK_TCK) / $ROWS, 1),
                     round($ROWS / (extract(epoch FROM clock_timestamp()) - :w0)) FROM pg_read_file('/proc/self/stat') s;"
      } >"$dir/session.sql"
      read -r cpu rate < <("$psql" "$url" -XAtq -v ON_ERROR_STOP=1 -F ' ' -f "$dir/session.sql" | tail -n 1)
      # Every row retired once: deleted (keep=0), or published (keep=1: marked, or one delivery row each).
      if [ $keep = 0 ]; then check="SELECT count(*) = 0 FROM outbox"
      elif [ $c = delivery ]; then check="SELECT (SELECT count(*) FROM outbox_delivery) = $ROWS AND (SELECT count(*) FROM outbox_queue) = 0"
      else check="SELECT count(*) FILTER (WHERE published_at IS NOT NULL) = $ROWS AND count(*) = $ROWS FROM outbox"; fi
      [ "$("$psql" "$url" -XAtqc "$check")" = t ] || problems+=("round $round $c keep=$keep: not every row was retired once ($check)")
      line="round=$round candidate=$c keep=$keep backend_cpu_us_per_row=$cpu rows_per_s=$rate"
      echo "$line" >&2
      lines+=("$line")
    done
  done
done
{
  bench_header "ROWS=$ROWS BATCH=$BATCH ROUNDS=$ROUNDS"
  printf '%s\n' "${lines[@]}"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: ROWS=$ROWS BATCH=$BATCH ROUNDS=$ROUNDS CANDIDATES=\"$CANDIDATES\" bench/outbox_candidates.sh"
  echo
} | bench_record outbox-candidates
if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do echo "FAILED: $p" >&2; done
  exit 1
fi
