#!/usr/bin/env bash
# A private RabbitMQ 3.10 (Debian's rabbitmq-server) with its MQTT plugin, authenticating and
# authorizing every client through mqtt-authd's RabbitMQ contract (rabbitmq_auth_backend_http).
# How it is run is in ../shared/reference/peer-brokers.md §7 (observed on machines of this kind).
#
#   .ci/rabbitmq.sh start <mqtt-authd base URL> <workdir>   prints the MQTT port on stdout
#   .ci/rabbitmq.sh stop <workdir>
#
# The hook secret is read from the file named by MQTT_AUTHD_HOOK_SECRET_FILE, never from argv. All
# state (config, mnesia, logs, a private epmd port) lives in <workdir>; nothing under /etc or
# /var/lib/rabbitmq is changed. Every port is a free loopback one. Must run as root: the server
# drops to the rabbitmq user, as Debian's wrapper does.
set -euo pipefail

readonly START_TIMEOUT_S=${RABBITMQ_START_TIMEOUT_S:-90}

log() { printf 'rabbitmq.sh: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

free_port() {
  node -e 'const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

ensure_installed() {
  if command -v rabbitmq-server >/dev/null 2>&1; then return; fi
  log "installing rabbitmq-server from the distribution"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server >&2; }
}

# The environment every RabbitMQ command needs to find this node and nothing else.
node_env() {
  local dir=$1
  # shellcheck disable=SC1091
  source "$dir/node.env"
  export RABBITMQ_NODENAME ERL_EPMD_PORT ERL_EPMD_ADDRESS RABBITMQ_CONFIG_FILE RABBITMQ_ENABLED_PLUGINS_FILE
  export RABBITMQ_MNESIA_BASE RABBITMQ_LOG_BASE RABBITMQ_FEATURE_FLAGS_FILE
  export RABBITMQ_NODE_IP_ADDRESS RABBITMQ_NODE_PORT RABBITMQ_DIST_PORT RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  local base_url=${1:?usage: start <mqtt-authd base URL> <workdir>}
  local dir=${2:?usage: start <mqtt-authd base URL> <workdir>}
  [[ $(id -u) == 0 ]] || die "must run as root (the server drops to the rabbitmq user)"
  [[ -n ${MQTT_AUTHD_HOOK_SECRET_FILE:-} && -r $MQTT_AUTHD_HOOK_SECRET_FILE ]] ||
    die "set MQTT_AUTHD_HOOK_SECRET_FILE to a readable file holding the hook secret"
  local secret
  secret=$(tr -d '\r\n' <"$MQTT_AUTHD_HOOK_SECRET_FILE")
  # It goes verbatim into a URL path in rabbitmq.conf.
  [[ $secret =~ ^[A-Za-z0-9._~-]+$ ]] || die "the hook secret must be URL-safe ([A-Za-z0-9._~-]) for RabbitMQ"
  ensure_installed

  mkdir -p "$dir/mnesia" "$dir/log"
  local mqtt_port amqp_port dist_port epmd_port
  mqtt_port=$(free_port)
  amqp_port=$(free_port)
  dist_port=$(free_port)
  epmd_port=$(free_port)

  local hooks="${base_url%/}/rabbitmq/$secret/auth"
  cat >"$dir/rabbitmq.conf" <<EOF
auth_backends.1 = http
auth_http.http_method = post
auth_http.user_path = $hooks/user
auth_http.vhost_path = $hooks/vhost
auth_http.resource_path = $hooks/resource
auth_http.topic_path = $hooks/topic
auth_http.request_timeout = 5000
auth_http.connection_timeout = 5000
mqtt.listeners.tcp.default = 127.0.0.1:$mqtt_port
mqtt.allow_anonymous = false
mqtt.vhost = /
mqtt.exchange = amq.topic
log.file.level = info
log.console = false
EOF
  echo '[rabbitmq_mqtt,rabbitmq_auth_backend_http].' >"$dir/enabled_plugins"
  cat >"$dir/node.env" <<EOF
RABBITMQ_NODENAME=mqtt-authd-ci-$mqtt_port@localhost
ERL_EPMD_PORT=$epmd_port
ERL_EPMD_ADDRESS=127.0.0.1
RABBITMQ_CONFIG_FILE=$dir/rabbitmq
RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
RABBITMQ_MNESIA_BASE=$dir/mnesia
RABBITMQ_LOG_BASE=$dir/log
RABBITMQ_FEATURE_FLAGS_FILE=$dir/mnesia/feature_flags
RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
RABBITMQ_NODE_PORT=$amqp_port
RABBITMQ_DIST_PORT=$dist_port
RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
  # The server runs as rabbitmq: it must own its folders. The config holds the secret: 0700.
  chown -R rabbitmq:rabbitmq "$dir"
  chmod 0700 "$dir"
  # Every folder above it must let the rabbitmq user through, or the node dies at start.
  su rabbitmq -s /bin/sh -c 'test -w "$0"' "$dir/mnesia" ||
    die "the rabbitmq user cannot reach $dir: put the workdir under a world-traversable folder such as /tmp"

  node_env "$dir"
  log "starting node $RABBITMQ_NODENAME (MQTT 127.0.0.1:$mqtt_port) in $dir"
  setsid rabbitmq-server >"$dir/server.out" 2>&1 </dev/null &
  echo $! >"$dir/server.pid"

  local deadline=$((SECONDS + START_TIMEOUT_S))
  until port_open "$mqtt_port"; do
    if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
      tail -n 40 "$dir/server.out" "$dir"/log/*.log >&2 2>/dev/null || true
      die "rabbitmq-server exited before its MQTT port answered"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$dir"/log/*.log >&2 2>/dev/null || true
      stop "$dir"
      die "MQTT port $mqtt_port did not answer within ${START_TIMEOUT_S}s"
    fi
    sleep 0.5
  done
  log "MQTT port $mqtt_port answers"
  echo "$mqtt_port"
}

stop() {
  local dir=${1:?usage: stop <workdir>}
  [[ -f $dir/node.env ]] || return 0
  node_env "$dir"
  local pid
  pid=$(cat "$dir/server.pid" 2>/dev/null || echo "")
  rabbitmqctl stop >/dev/null 2>&1 || log "rabbitmqctl stop failed; ending the process group"
  if [[ -n $pid ]]; then
    # setsid made the server the leader of its own process group: end that group only.
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
  fi
  # The node started its own epmd on a private port; that one, and only that one, goes too.
  epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
  rm -f "$dir/node.env"
  log "stopped $RABBITMQ_NODENAME"
}

case ${1:-} in
start) start "${@:2}" ;;
stop) stop "${@:2}" ;;
*) die "usage: $0 start <mqtt-authd base URL> <workdir> | stop <workdir>" ;;
esac
