#!/usr/bin/env bash
# Starts/stops the project's own PostgreSQL (+pgvector) and Redis on loopback.
#   scripts/services.sh start   install if needed, start, bootstrap roles and databases
#   scripts/services.sh stop    stop only what this script started (tracked in the state dir)
#   scripts/services.sh status
#   scripts/services.sh crash-postgres | crash-redis   stop one at once, as if it died (fault
#                                                       tests; `start` brings it back)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB_OWNER="autonomos_owner"
DB_OWNER_PASSWORD="${AUTONOMOS_DB_OWNER_PASSWORD:-autonomos_owner_dev}"
DB_APP="autonomos_app"
DB_APP_PASSWORD="${AUTONOMOS_DB_APP_PASSWORD:-autonomos_app_dev}"
# autonomos_test_workers: tests whose worker processes adopt any unowned run keep to their own.
DATABASES=(autonomos autonomos_test autonomos_test_workers)

pg_ctl_() { as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" "$@"; }
psql_super() { as_postgres env PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" "$@"; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

prepare_state_dir() {
  mkdir -p "$STATE_DIR/postgres" "$REDIS_DIR"
  # The postgres OS user must reach its data dir; open the path for traversal only.
  local d="$STATE_DIR/postgres"
  while [ "$d" != "/" ]; do
    chmod o+x "$d" 2>/dev/null || true
    d="$(dirname "$d")"
  done
  as_root chown postgres:postgres "$STATE_DIR/postgres"
  as_postgres mkdir -p "$PG_SOCKET_DIR"
}

start_postgres() {
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "initdb $PG_DATA"
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if pg_ctl_ status >/dev/null 2>&1; then
    log "postgres already running on port $PG_PORT"
    return 0
  fi
  if port_busy "$PG_PORT"; then
    log "port $PG_PORT is taken by another process; set AUTONOMOS_PG_PORT"; exit 1
  fi
  log "starting postgres on 127.0.0.1:$PG_PORT"
  pg_ctl_ -w -t 60 -l "$PG_LOG" start -o "-c listen_addresses=127.0.0.1 -p $PG_PORT \
    -c unix_socket_directories=$PG_SOCKET_DIR -c max_connections=300 -c shared_buffers=256MB \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
  touch "$STATE_DIR/postgres/.started-by-us"
}

bootstrap_postgres() {
  # Roles: the owner runs migrations; the app role is subject to row-level security.
  psql_super -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_OWNER') THEN
    CREATE ROLE $DB_OWNER LOGIN CREATEDB PASSWORD '$DB_OWNER_PASSWORD';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_APP') THEN
    CREATE ROLE $DB_APP LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB PASSWORD '$DB_APP_PASSWORD';
  END IF;
END \$\$;
SQL
  # pgvector is not a trusted extension: install it where new databases are copied from.
  psql_super -d template1 -c "CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pg_trgm" >/dev/null
  for db in "${DATABASES[@]}"; do
    if [ -z "$(psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      log "creating database $db"
      psql_super -d postgres -c "CREATE DATABASE $db OWNER $DB_OWNER" >/dev/null
    fi
    psql_super -d "$db" >/dev/null <<SQL
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
GRANT CONNECT ON DATABASE $db TO $DB_APP;
GRANT USAGE ON SCHEMA public TO $DB_APP;
ALTER SCHEMA public OWNER TO $DB_OWNER;
ALTER DEFAULT PRIVILEGES FOR ROLE $DB_OWNER IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO $DB_APP;
ALTER DEFAULT PRIVILEGES FOR ROLE $DB_OWNER IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO $DB_APP;
ALTER DEFAULT PRIVILEGES FOR ROLE $DB_OWNER IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO $DB_APP;
SQL
  done
  # Databases the owner creates itself (the migration round-trip test) get the same grants.
  psql_super -d postgres -c "ALTER DEFAULT PRIVILEGES FOR ROLE $DB_OWNER GRANT EXECUTE ON FUNCTIONS TO $DB_APP" >/dev/null
}

start_redis() {
  local pidfile="$REDIS_DIR/redis.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "redis already running on port $REDIS_PORT"
    return 0
  fi
  if port_busy "$REDIS_PORT"; then
    log "port $REDIS_PORT is taken by another process; set AUTONOMOS_REDIS_PORT"; exit 1
  fi
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$REDIS_DIR" --pidfile "$pidfile" --logfile "$REDIS_DIR/redis.log"
  for _ in $(seq 1 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "redis did not answer on port $REDIS_PORT"; exit 1
}

stop_all() {
  if [ -f "$STATE_DIR/postgres/.started-by-us" ] && pg_ctl_ status >/dev/null 2>&1; then
    log "stopping postgres"
    pg_ctl_ -m fast -w stop >/dev/null
    rm -f "$STATE_DIR/postgres/.started-by-us"
  fi
  local pidfile="$REDIS_DIR/redis.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "stopping redis"
    kill "$(cat "$pidfile")"
    rm -f "$pidfile"
  fi
}

status() {
  if pg_ctl_ status >/dev/null 2>&1; then echo "postgres: running on 127.0.0.1:$PG_PORT"; else echo "postgres: stopped"; fi
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then echo "redis: running on 127.0.0.1:$REDIS_PORT"; else echo "redis: stopped"; fi
}

case "${1:-start}" in
  start)
    bash "$REPO_ROOT/scripts/install-services.sh"
    bash "$REPO_ROOT/scripts/install-model.sh"
    prepare_state_dir
    start_postgres
    bootstrap_postgres
    start_redis
    log "ready: postgres 127.0.0.1:$PG_PORT, redis 127.0.0.1:$REDIS_PORT"
    ;;
  stop) stop_all ;;
  status) status ;;
  crash-postgres) pg_ctl_ -m immediate -w stop >/dev/null ;;
  crash-redis)
    pidfile="$REDIS_DIR/redis.pid"
    if [ -f "$pidfile" ]; then kill -9 "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    ;;
  *) echo "usage: $0 start|stop|status|crash-postgres|crash-redis" >&2; exit 2 ;;
esac
