#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (Debian's postgresql server binaries) for the test suite and the
# benchmark: initdb into a temporary folder, pg_ctl start on a free loopback port, password auth.
#
#   .ci/postgres.sh start <workdir>   prints the superuser URL (postgres://postgres:…@127.0.0.1:PORT/postgres)
#   .ci/postgres.sh stop <workdir>
#
# The URL carries the generated password: capture stdout into a variable or a file, never echo it.
# Durability is switched off (fsync, full_page_writes): the cluster lives as long as one test run.
# As root, the server runs as the postgres user (initdb refuses root); otherwise as the caller.
set -euo pipefail

readonly START_TIMEOUT_S=${POSTGRES_START_TIMEOUT_S:-60}

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

bindir() {
  local d
  for d in "${POSTGRES_BINDIR:-}" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return; }
  done
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return
  fi
  die "no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql, or set MQTT_AUTHD_TEST_PG_URL"
}

free_port() {
  node -e 'const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Runs a command as the cluster's owner.
as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local dir=${1:?usage: start <workdir>}
  local bin port password
  bin=$(bindir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "no postgres user (Debian's postgresql package creates it)"
    chown postgres: "$dir"
    chmod 0700 "$dir"
    runuser -u postgres -- test -x "$dir" || die "the postgres user cannot reach $dir (a parent folder is not traversable)"
  fi
  password=$(node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("hex"))')
  (umask 077 && printf '%s\n' "$password" >"$dir/pwfile")
  [[ $(id -u) == 0 ]] && chown postgres: "$dir/pwfile"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  }
  port=$(free_port)
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t "$START_TIMEOUT_S" start \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c max_connections=400 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=128MB" >/dev/null || {
    cat "$dir/server.log" >&2
    die "pg_ctl start failed"
  }
  printf '%s\n' "$port" >"$dir/port"
  printf 'postgres://postgres:%s@127.0.0.1:%s/postgres\n' "$password" "$port"
}

stop() {
  local dir=${1:?usage: stop <workdir>}
  [[ -d $dir/data ]] || return 0
  as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) die "usage: $0 start|stop <workdir>" ;;
esac
