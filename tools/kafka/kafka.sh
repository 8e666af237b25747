#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker+controller) on loopback, without Docker.
#
#   tools/kafka/kafka.sh start|stop|status        manage the broker
#   tools/kafka/kafka.sh classpath                resolve the jars if needed, print the classpath
#   tools/kafka/kafka.sh run-class CLASS [ARGS]   run a Kafka tool class, e.g. org.apache.kafka.tools.ProducerPerformance
#
# Environment (all optional):
#   KAFKA_PORT             client listener, default 9092 (advertised as 127.0.0.1:$KAFKA_PORT)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener, default 9093
#   STACK_DIR              state root, default <repo>/.stack; the broker's state is $STACK_DIR/kafka
#   KAFKA_STATE_DIR        overrides $STACK_DIR/kafka (data, log, pid), e.g. for a second, throw-away broker
#   KAFKA_HEAP             JVM heap, default 512m
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer, default 90
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL, default 30
#   KAFKA_TOOL_OPTS        JVM options for run-class, default: small heap, quick start-up (C1 only)
#   XDG_CACHE_HOME         jars are cached in ${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/kafka-<version>
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pom="$here/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"

port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
state_dir="${KAFKA_STATE_DIR:-${STACK_DIR:-$repo/.stack}/kafka}"
heap="${KAFKA_HEAP:-512m}"
start_timeout="${KAFKA_START_TIMEOUT:-90}"
stop_timeout="${KAFKA_STOP_TIMEOUT:-30}"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss/kafka-$version"
libs="$cache_dir/libs"
pid_file="$state_dir/kafka.pid"
log_file="$state_dir/log/server.log"
props="$state_dir/server.properties"

say() { printf 'kafka: %s\n' "$*"; }
die() { printf 'kafka: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Jars are resolved once from Maven Central into ~/.m2 and copied to the cache; later runs never call Maven.
ensure_jars() {
  [[ -f "$libs/.complete" ]] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed once to download Kafka $version; install it (apt-get install maven)"
  command -v java >/dev/null || die "Java 17+ is needed to run Kafka; install it (apt-get install openjdk-17-jre-headless)"
  say "resolving Kafka $version jars with Maven into $libs (first run only)"
  local tmp="$cache_dir/libs.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local maven_log="$cache_dir/maven.log"
  if ! mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$tmp" \
    </dev/null >"$maven_log" 2>&1; then
    tail -n 40 "$maven_log" >&2
    rm -rf "$tmp"
    die "Maven could not resolve org.apache.kafka:kafka_2.13:$version (full log: $maven_log)"
  fi
  touch "$tmp/.complete"
  rm -rf "$libs"
  mv "$tmp" "$libs"
}

# Command-line tools: quick to start, warnings only, on stderr (stdout stays the tool's own output).
tool() {
  local log4j2="$cache_dir/tools-log4j2.properties"
  [[ -f "$log4j2" ]] || printf '%s\n' 'appender.stderr.type = Console' 'appender.stderr.name = stderr' \
    'appender.stderr.target = SYSTEM_ERR' 'appender.stderr.layout.type = PatternLayout' \
    'appender.stderr.layout.pattern = [%d] %p %m (%c)%n' 'rootLogger.level = warn' \
    'rootLogger.appenderRef.stderr.ref = stderr' >"$log4j2"
  # shellcheck disable=SC2086 # KAFKA_TOOL_OPTS is a list of JVM options
  java ${KAFKA_TOOL_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$log4j2" -cp "$libs/*" "$@"
}

# Our broker: the pid file exists and names a live java process started with our server.properties.
owned_pid() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $props" || return 1
  echo "$pid"
}

write_config() {
  mkdir -p "$state_dir/data" "$state_dir/log"
  cat >"$props" <<EOF
# Written by tools/kafka/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state_dir/data
# One node: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
default.replication.factor=1
# Topics are created explicitly by their owners (admin client), never by a typo in a producer.
auto.create.topics.enable=false
# Consumer groups start at once instead of waiting 3 s for more members (fast tests).
group.initial.rebalance.delay.ms=0
num.partitions=3
log.retention.hours=24
EOF
  # log4j2's properties format: log4j-core reads it without the YAML or JSON modules.
  cat >"$state_dir/log4j2.properties" <<'EOF'
appender.stdout.type = Console
appender.stdout.name = stdout
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = stdout
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
EOF
}

format_storage_once() {
  [[ -f "$state_dir/data/meta.properties" ]] && return 0
  local cluster_id
  cluster_id="$(tool kafka.tools.StorageTool random-uuid)"
  tool kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >>"$log_file" 2>&1 ||
    die "formatting storage in $state_dir/data failed; see $log_file"
}

start() {
  if pid="$(owned_pid)"; then
    say "already running (pid $pid) on 127.0.0.1:$port; logs: $log_file"
    return 0
  fi
  if port_open "$port"; then
    say "something already accepts connections on 127.0.0.1:$port; using it as is (not started or managed by this script)"
    return 0
  fi
  port_open "$controller_port" && die "port $controller_port (controller) is taken by another process; set KAFKA_CONTROLLER_PORT"
  ensure_jars
  write_config
  format_storage_once
  rm -f "$pid_file"
  # setsid: the broker outlives this shell and never gets the terminal's Ctrl-C.
  setsid java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$state_dir/log4j2.properties" -cp "$libs/*" \
    kafka.Kafka "$props" </dev/null >>"$log_file" 2>&1 &
  local pid=$!
  echo "$pid" >"$pid_file"
  say "starting Kafka $version (pid $pid) on 127.0.0.1:$port; logs: $log_file"
  wait_until_ready "$pid"
  say "ready on 127.0.0.1:$port"
}

# Ready = the port accepts AND the broker answers a metadata request (cluster id via the admin client).
wait_until_ready() {
  local pid=$1 deadline=$((SECONDS + start_timeout))
  while ! port_open "$port"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log_file" >&2; die "broker exited during start-up; see $log_file"; }
    ((SECONDS < deadline)) || die "port $port did not open within ${start_timeout}s; see $log_file"
    sleep 0.2
  done
  until tool org.apache.kafka.tools.ClusterTool cluster-id --bootstrap-server "127.0.0.1:$port" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log_file" >&2; die "broker exited during start-up; see $log_file"; }
    ((SECONDS < deadline)) || die "broker did not answer a metadata request within ${start_timeout}s; see $log_file"
    sleep 0.5
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
    say "running (pid $pid) on 127.0.0.1:$port; logs: $log_file"
  elif port_open "$port"; then
    say "running on 127.0.0.1:$port (not managed by this script)"
  else
    say "stopped"
    return 3
  fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
classpath) ensure_jars >&2 && echo "$libs/*" ;;
run-class)
  shift
  [[ $# -ge 1 ]] || die "usage: $0 run-class CLASS [ARGS...]"
  ensure_jars
  tool "$@"
  ;;
*) die "usage: $0 start|stop|status|classpath|run-class CLASS [ARGS...]" ;;
esac
