# Throwaway PostgreSQL for the tests: `pg_start` runs a server on a free loopback port with a data directory
# in /tmp and exports BUTLER_TEST_POSTGRES_URL; `pg_stop` stops it by PID and removes the directory.
# initdb refuses to run as root, so as root (CI) the server runs as the `postgres` user.
# PG_FSYNC=on keeps the server's fsync (benchmarks); the tests run with fsync off.
# Source this file; scripts/with-postgres.sh and scripts/test.sh use it.

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

pg_free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 100); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

pg_start() {
  local bin port
  bin=$(pg_bin)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)" >&2
    return 1
  fi
  port=$(pg_free_port) || { echo "no free port for PostgreSQL" >&2; return 1; }
  PG_DIR=$(mktemp -d /tmp/butler-pg.XXXXXX)
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  chmod 700 "$PG_DIR"
  if ! "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync >"$PG_DIR.initdb.log" 2>&1; then
    cat "$PG_DIR.initdb.log" >&2
    return 1
  fi
  if ! "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=${PG_FSYNC:-off} -c max_connections=200" start >/dev/null; then
    cat "$PG_DIR/server.log" >&2
    return 1
  fi
  PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
  export BUTLER_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (pid $PG_PID, $PG_DIR)"
}

pg_stop() {
  if [ -n "${PG_PID:-}" ] && kill -0 "$PG_PID" 2>/dev/null; then
    kill -TERM "$PG_PID"
    local i
    for i in $(seq 1 150); do
      kill -0 "$PG_PID" 2>/dev/null || break
      sleep 0.2
    done
  fi
  PG_PID=
  if [ -n "${PG_DIR:-}" ]; then
    rm -rf "$PG_DIR" "$PG_DIR.initdb.log"
    PG_DIR=
  fi
}
