#!/usr/bin/env bash
# A real Kafka Connect worker (distributed mode) with the Debezium PostgreSQL connector, on loopback,
# without Docker. The worker runs on the broker's own jars (tools/kafka); Debezium is one plugin folder.
#
#   tools/connect/connect.sh start|stop|status   manage the worker
#   tools/connect/connect.sh plugins             resolve the Debezium plugin folder if needed, print its path
#   tools/connect/connect.sh url                 print the worker's REST URL
#
# The worker's port, heap and distributed settings: deploy/connect/worker.json (their one source).
# The connector itself is registered by scripts/stack from deploy/connect/cinemaabyss-movies.json.
#
# Environment (all optional):
#   CDC_DATABASE_URL       the database Debezium reads, as the capture role; default
#                          postgres://cinemaabyss_cdc:cinemaabyss_cdc@127.0.0.1:5432/cinemaabyss (local only).
#                          The worker gets its parts as CDC_DATABASE_HOST|PORT|USER|PASSWORD|NAME, which the
#                          connector's config names as ${env:...}, so no password is stored in Connect's topics.
#   KAFKA_BROKERS          the broker(s), default 127.0.0.1:$KAFKA_PORT (KAFKA_PORT default 9092, as tools/kafka)
#   STACK_DIR              state root, default <repo>/.stack; the worker's state is $STACK_DIR/connect
#   CONNECT_STATE_DIR      overrides $STACK_DIR/connect (properties, log, pid)
#   CONNECT_START_TIMEOUT  seconds to wait for REST to answer 200, default 120
#   CONNECT_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL, default 30
#   XDG_CACHE_HOME         the plugin is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/connect-plugins-<debezium>
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pom="$here/pom.xml"
worker_json="$repo/deploy/connect/worker.json"
debezium_version="$(sed -n 's:.*<debezium.version>\(.*\)</debezium.version>.*:\1:p' "$pom")"

state_dir="${CONNECT_STATE_DIR:-${STACK_DIR:-$repo/.stack}/connect}"
bootstrap="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"
start_timeout="${CONNECT_START_TIMEOUT:-120}"
stop_timeout="${CONNECT_STOP_TIMEOUT:-30}"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/connect-plugins-$debezium_version"
plugins="$cache_dir/plugins"
pid_file="$state_dir/connect.pid"
log_file="$state_dir/log/connect.log"
props="$state_dir/worker.properties"

say() { printf 'connect: %s\n' "$*"; }
die() { printf 'connect: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# One field of deploy/connect/worker.json (Node.js is required by the repository anyway).
worker_field() { node -p 'require(process.argv[1])[process.argv[2]]' "$worker_json" "$1"; }
port="$(worker_field port)"
heap="$(worker_field heap)"
url="http://127.0.0.1:$port"

# Resolved once from Maven Central into ~/.m2 and copied to the cache; later runs never call Maven.
# One folder per plugin: Connect isolates each in its own class loader, which is what lets Debezium keep
# the kafka-clients it was built against next to the worker's newer one.
ensure_plugins() {
  [[ -f "$plugins/.complete" ]] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed once to download Debezium $debezium_version; install it (apt-get install maven)"
  say "resolving Debezium PostgreSQL connector $debezium_version with Maven into $plugins (first run only)"
  local tmp="$cache_dir/plugins.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/debezium-connector-postgres"
  local maven_log="$cache_dir/maven.log" started=$SECONDS
  if ! mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    -DoutputDirectory="$tmp/debezium-connector-postgres" </dev/null >"$maven_log" 2>&1; then
    tail -n 40 "$maven_log" >&2
    rm -rf "$tmp"
    die "Maven could not resolve io.debezium:debezium-connector-postgres:$debezium_version (full log: $maven_log)"
  fi
  touch "$tmp/.complete"
  rm -rf "$plugins"
  mv "$tmp" "$plugins"
  say "resolved in $((SECONDS - started)) s"
}

# Our worker: the pid file exists and names a live java process started with our worker.properties.
owned_pid() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "ConnectDistributed $props" || return 1
  echo "$pid"
}

write_config() {
  mkdir -p "$state_dir/log"
  {
    echo "# Written by tools/connect/connect.sh on every start from deploy/connect/worker.json; edit those."
    echo "bootstrap.servers=$bootstrap"
    echo "listeners=http://127.0.0.1:$port"
    echo "rest.advertised.host.name=127.0.0.1"
    echo "rest.advertised.port=$port"
    echo "plugin.path=$plugins"
    node -e 'for (const [k, v] of Object.entries(require(process.argv[1]).settings)) console.log(`${k}=${v}`)' \
      "$worker_json"
  } >"$props"
  cat >"$state_dir/log4j2.properties" <<'EOF'
appender.stdout.type = Console
appender.stdout.name = stdout
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = stdout
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
logger.reflections.name = org.reflections
logger.reflections.level = error
EOF
}

# The capture database's parts, for the connector's ${env:...} references.
export_database_env() {
  local parts
  parts="$(node -e '
    const u = new URL(process.argv[1]);
    const d = decodeURIComponent;
    console.log([u.hostname, u.port || "5432", d(u.username), d(u.password), d(u.pathname.slice(1))].join("\n"));
  ' "${CDC_DATABASE_URL:-postgres://cinemaabyss_cdc:cinemaabyss_cdc@127.0.0.1:5432/cinemaabyss}")" ||
    die "CDC_DATABASE_URL is not a URL like postgres://user:password@host:5432/database"
  {
    read -r CDC_DATABASE_HOST
    read -r CDC_DATABASE_PORT
    read -r CDC_DATABASE_USER
    read -r CDC_DATABASE_PASSWORD
    read -r CDC_DATABASE_NAME
  } <<<"$parts"
  export CDC_DATABASE_HOST CDC_DATABASE_PORT CDC_DATABASE_USER CDC_DATABASE_PASSWORD CDC_DATABASE_NAME
}

start() {
  if pid="$(owned_pid)"; then
    say "already running (pid $pid) on $url; logs: $log_file"
    return 0
  fi
  if port_open "$port"; then
    # Like tools/kafka: a worker started elsewhere (another checkout's stack) is used, anything else refused.
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/connectors") == 200 ]] ||
      die "port $port is taken by something that is not a Kafka Connect worker; stop it first"
    say "a Kafka Connect worker already answers on $url; using it as is (not started or managed by this script)"
    return 0
  fi
  command -v java >/dev/null || die "Java 17+ is needed to run Kafka Connect; install it (apt-get install openjdk-17-jre-headless)"
  local classpath
  classpath="$("$repo/tools/kafka/kafka.sh" classpath)"
  ensure_plugins
  write_config
  export_database_env
  rm -f "$pid_file"
  local started=$SECONDS
  # setsid: the worker outlives this shell and never gets the terminal's Ctrl-C.
  setsid java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$state_dir/log4j2.properties" -cp "$classpath" \
    org.apache.kafka.connect.cli.ConnectDistributed "$props" </dev/null >>"$log_file" 2>&1 &
  local pid=$!
  echo "$pid" >"$pid_file"
  say "starting Kafka Connect (pid $pid) on $url; logs: $log_file"
  wait_until_ready "$pid"
  say "ready on $url in $((SECONDS - started)) s"
}

# Ready = GET / answers 200: the port opens a few seconds before the REST resources do (404 meanwhile).
wait_until_ready() {
  local pid=$1 deadline=$((SECONDS + start_timeout))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/" 2>/dev/null) == 200 ]]; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log_file" >&2; die "worker exited during start-up; see $log_file"; }
    ((SECONDS < deadline)) || die "REST did not answer 200 within ${start_timeout}s; see $log_file"
    sleep 0.2
  done
}

stop() {
  local pid
  if ! pid="$(owned_pid)"; then
    rm -f "$pid_file"
    say "not running (nothing started by this script in $state_dir)"
    return 0
  fi
  say "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + stop_timeout))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after ${stop_timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pid_file"
  say "stopped"
}

# Exit status: 0 running, 3 stopped (LSB convention).
status() {
  local pid
  if pid="$(owned_pid)"; then
    say "running (pid $pid) on $url; logs: $log_file"
  elif port_open "$port"; then
    say "running on $url (not managed by this script)"
  else
    say "stopped"
    return 3
  fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
plugins) ensure_plugins >&2 && echo "$plugins" ;;
url) echo "$url" ;;
*) die "usage: $0 start|stop|status|plugins|url" ;;
esac
