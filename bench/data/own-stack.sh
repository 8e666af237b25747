#!/usr/bin/env bash
# A capture path of one's own beside a shared stack, for the data proofs (`pnpm test:data`, the benches in
# bench/data) on a machine where others use the stack's PostgreSQL, Connect and movies-sync: the fault suite
# restarts PostgreSQL and kills the Connect worker, which must then be components this script started.
#
#   bench/data/own-stack.sh up     start them (idempotent) and print the environment the proofs read
#   bench/data/own-stack.sh env    print that environment again (eval "$(bench/data/own-stack.sh env)")
#   bench/data/own-stack.sh down   stop them; `down --purge` also drops the cluster and the Kafka topics
#
# What it starts, each on its own port (defaults below), sharing only the stack's Kafka and Redis:
#   a PostgreSQL cluster (pg_createcluster, as root) with the monolith's and the movies' databases and roles,
#   the monolith and the movies service built from this checkout, a second Connect worker (its own group and storage topics) with
#   the connector of deploy/connect under the same name but its own topic, and movies-sync on that topic.
# movies-sync writes the data status under the usual Redis key: run no other movies-sync with the parity
# plugin against the same Redis meanwhile. Needs a build (pnpm -s build) and the stack's Kafka and Redis.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${OWN_STACK_DIR:-$ROOT/.stack/own}
PG_PORT=${OWN_PG_PORT:-5433}
MONOLITH_PORT=${OWN_MONOLITH_PORT:-18080}
CONNECT_PORT=${OWN_CONNECT_PORT:-18083}
SYNC_PORT=${OWN_SYNC_PORT:-18184}
MOVIES_PORT=${OWN_MOVIES_PORT:-18181}
NAME=${OWN_NAME:-dataproof}
PG_VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
TOPIC=$NAME.movies.cdc
mkdir -p "$DIR/logs" "$DIR/pids"

# shellcheck source=../../tools/node.sh
source "$ROOT/tools/node.sh"
use_node

say() { printf '[own-stack] %s\n' "$*"; }
die() { printf '[own-stack] %s\n' "$*" >&2; exit 1; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
http_ok() { curl -fs -o /dev/null --max-time 2 "$1"; }

env_lines() {
  cat <<EOF
export DATABASE_URL=postgres://cinemaabyss:cinemaabyss@127.0.0.1:$PG_PORT/cinemaabyss
export CDC_DATABASE_URL=postgres://cinemaabyss_cdc:cinemaabyss_cdc@127.0.0.1:$PG_PORT/cinemaabyss
export MOVIES_DATABASE_URL=postgres://movies:movies@127.0.0.1:$PG_PORT/movies
export MONOLITH_URL=http://127.0.0.1:$MONOLITH_PORT
export MOVIES_SERVICE_URL=http://127.0.0.1:$MOVIES_PORT
export CONNECT_URL=http://127.0.0.1:$CONNECT_PORT
export CONNECT_STATE_DIR=$DIR/connect
export CONNECT_WORKER_JSON=$DIR/worker.json
export MOVIES_SYNC_URL=http://127.0.0.1:$SYNC_PORT
export MOVIES_SYNC_PIDFILE=$DIR/pids/movies-sync.pid
export SYNC_TOPIC=$TOPIC
EOF
}
eval "$(env_lines)"

cluster_up() {
  if ! pg_lsclusters -h | awk -v n="$NAME" '$2 == n { found = 1 } END { exit !found }'; then
    [[ $(id -u) == 0 ]] || die "creating a PostgreSQL cluster needs root"
    say "PostgreSQL: creating cluster $PG_VERSION/$NAME on $PG_PORT"
    pg_createcluster "$PG_VERSION" "$NAME" --port "$PG_PORT" -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    cat >"/etc/postgresql/$PG_VERSION/$NAME/conf.d/capture.conf" <<'EOF'
wal_level = logical
max_slot_wal_keep_size = 1GB
EOF
  fi
  listening "$PG_PORT" || pg_ctlcluster "$PG_VERSION" "$NAME" start
  wait_until 30 listening "$PG_PORT" || die "cluster $NAME did not open $PG_PORT"
  runuser -u postgres -- psql -p "$PG_PORT" -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT 'CREATE ROLE cinemaabyss LOGIN PASSWORD ''cinemaabyss''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cinemaabyss') \gexec
SELECT 'CREATE DATABASE cinemaabyss OWNER cinemaabyss' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'cinemaabyss') \gexec
SELECT 'CREATE ROLE cinemaabyss_cdc LOGIN REPLICATION PASSWORD ''cinemaabyss_cdc''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cinemaabyss_cdc') \gexec
SELECT 'CREATE ROLE movies LOGIN PASSWORD ''movies''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'movies') \gexec
SELECT 'CREATE DATABASE movies OWNER movies' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'movies') \gexec
REVOKE CONNECT ON DATABASE cinemaabyss FROM PUBLIC;
GRANT CONNECT ON DATABASE cinemaabyss TO cinemaabyss, cinemaabyss_cdc;
REVOKE CONNECT ON DATABASE movies FROM PUBLIC;
GRANT CONNECT ON DATABASE movies TO movies;
SQL
  (cd "$ROOT/services/monolith" && node dist/migrate.js) >>"$DIR/logs/migrate.log" 2>&1 || die "monolith migrations failed, see $DIR/logs/migrate.log"
  psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
GRANT SELECT ON movies, genres, movie_genres TO cinemaabyss_cdc;
GRANT SELECT, INSERT, UPDATE ON cdc_heartbeat TO cinemaabyss_cdc;
SQL
  (cd "$ROOT/services/movies" && DATABASE_URL=$MOVIES_DATABASE_URL node dist/migrate.js) >>"$DIR/logs/migrate.log" 2>&1 ||
    die "movies migrations failed, see $DIR/logs/migrate.log"
}

# node <entry> in <dir> with the given environment, unless its pid file names a live process; ready when
# <ready path> answers 200.
start_node() {
  local name=$1 port=$2 dir=$3 entry=$4 ready=$5
  shift 5
  local pidfile=$DIR/pids/$name.pid
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "$name: already running (pid $(cat "$pidfile"))"
  else
    listening "$port" && die "$name: port $port is taken"
    (cd "$ROOT/services/$dir" && exec env PORT="$port" "$@" setsid nohup node "$entry" >>"$DIR/logs/$name.log" 2>&1 &
      echo $! >"$pidfile")
  fi
  wait_until 60 http_ok "http://127.0.0.1:$port$ready" || die "$name not ready on $port, see $DIR/logs/$name.log"
  say "$name: ready on $port"
}

connect_up() {
  # The stack's worker settings with a port, group and storage topics of its own.
  node -e '
    const w = require(process.argv[1]);
    const [port, name] = [Number(process.argv[2]), process.argv[3]];
    w.port = port;
    w.settings["group.id"] = `${name}-connect`;
    for (const [kind, topic] of [["config", "configs"], ["offset", "offsets"], ["status", "status"]])
      w.settings[`${kind}.storage.topic`] = `${name}-connect-${topic}`;
    console.log(JSON.stringify(w, null, 2));' "$ROOT/deploy/connect/worker.json" "$CONNECT_PORT" "$NAME" >"$CONNECT_WORKER_JSON"
  "$ROOT/tools/connect/connect.sh" start
  # The connector of deploy/connect, under its own name on this worker, writing its own topic.
  local config=$DIR/connector.json
  node -e '
    const c = require(process.argv[1]);
    const name = process.argv[2];
    c["topic.prefix"] = name;
    c["transforms.onestream.regex"] = c["transforms.onestream.regex"].replace(/^cinemaabyss/, name);
    c["transforms.onestream.replacement"] = `${name}.movies.cdc`;
    console.log(JSON.stringify(c));' "$ROOT/deploy/connect/cinemaabyss-movies.json" "$NAME" >"$config"
  local code
  code=$(curl -s -o "$DIR/logs/connector-put.json" -w '%{http_code}' --max-time 30 -X PUT \
    -H 'Content-Type: application/json' --data "@$config" "$CONNECT_URL/connectors/cinemaabyss-movies/config")
  [[ $code == 200 || $code == 201 ]] || die "Connect refused the connector (HTTP $code): $(cat "$DIR/logs/connector-put.json")"
  wait_until 120 connector_running || die "connector not RUNNING, see $CONNECT_STATE_DIR/log/connect.log"
  say "connector cinemaabyss-movies: RUNNING on $CONNECT_URL -> $TOPIC"
}
connector_running() {
  curl -fs --max-time 2 "$CONNECT_URL/connectors/cinemaabyss-movies/status" |
    node -e 'let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => {
      const s = JSON.parse(t); process.exit(s.connector.state === "RUNNING" && s.tasks.length && s.tasks.every((x) => x.state === "RUNNING") ? 0 : 1); });'
}

up() {
  [[ -f $ROOT/services/movies/dist/sync/server.js ]] || die "build first: pnpm -s build"
  cluster_up
  start_node monolith "$MONOLITH_PORT" monolith dist/server.js /ready DATABASE_URL="$DATABASE_URL" SHUTDOWN_DELAY_MS=200
  start_node movies "$MOVIES_PORT" movies dist/server.js /api/movies/ready DATABASE_URL="$MOVIES_DATABASE_URL" \
    MONOLITH_URL="$MONOLITH_URL" SHUTDOWN_DELAY_MS=200
  connect_up
  start_node movies-sync "$SYNC_PORT" movies dist/sync/server.js /ready DATABASE_URL="$MOVIES_DATABASE_URL" \
    SOURCE_DATABASE_URL="$CDC_DATABASE_URL" CONNECT_URL="$CONNECT_URL" SYNC_TOPIC="$TOPIC" \
    SYNC_GROUP_ID="$NAME-movies-sync" SHUTDOWN_DELAY_MS=200
  env_lines
}

stop_pid() {
  local pidfile=$DIR/pids/$1.pid
  [[ -f $pidfile ]] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait_until 20 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

down() {
  stop_pid movies-sync
  stop_pid movies
  stop_pid monolith
  [[ -f $CONNECT_WORKER_JSON ]] && "$ROOT/tools/connect/connect.sh" stop
  if pg_lsclusters -h | awk -v n="$NAME" '$2 == n { found = 1 } END { exit !found }'; then
    pg_ctlcluster "$PG_VERSION" "$NAME" stop || true
    if [[ ${1:-} == --purge ]]; then
      pg_dropcluster "$PG_VERSION" "$NAME"
      say "dropped cluster $NAME; the Kafka topics $TOPIC and $NAME-connect-* stay (the broker's retention ends them)"
    fi
  fi
  say "down"
}

case ${1:-} in
up) up ;;
env) env_lines ;;
down) down "${2:-}" ;;
*) die "usage: bench/data/own-stack.sh up|env|down [--purge]" ;;
esac
