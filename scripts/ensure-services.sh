#!/usr/bin/env bash
# Make the services the test suite needs answer on loopback, installing them if missing:
#   PostgreSQL on 127.0.0.1:5432, user postgres without password (trust), database `test`
#   Redis on 127.0.0.1:6379, nothing persisted to disk
# Idempotent, non-interactive (no stdin, CI=true), meant to run as root (or with sudo -n).
# Prints one line per service saying what it did. Overridable for a second instance:
#   PG_PORT PG_CLUSTER PG_DB REDIS_PORT WAIT_S
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
HOST=127.0.0.1
PG_PORT=${PG_PORT:-5432}
PG_CLUSTER=${PG_CLUSTER:-main}
PG_DB=${PG_DB:-test}
REDIS_PORT=${REDIS_PORT:-6379}
WAIT_S=${WAIT_S:-30}
MARK="# added by parley scripts/ensure-services.sh"

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
fi

die() { echo "ensure-services: $*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ] || die "$1 needs root (or passwordless sudo)"
}

APT_UPDATED=0
apt_install() {
    need_root "installing $*"
    if [ "$APT_UPDATED" -eq 0 ]; then
        $SUDO apt-get update -qq </dev/null >/dev/null
        APT_UPDATED=1
    fi
    $SUDO apt-get install -y -qq --no-install-recommends "$@" </dev/null >/dev/null
}

# wait_for CMD...: retry CMD every 0.2 s for at most WAIT_S seconds.
wait_for() {
    local i
    for ((i = 0; i < WAIT_S * 5; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

join() {
    local IFS=";" s
    s="$*"
    echo "${s//;/; }"
}

tcp_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# ---------------------------------------------------------------- PostgreSQL

pg_up() {
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h "$HOST" -p "$PG_PORT"
    else
        tcp_open "$PG_PORT"
    fi
}

pg_sql() { psql -h "$HOST" -p "$PG_PORT" -U postgres -w -d postgres -tAq -c "$1" </dev/null; }

pg_version() {
    # The newest cluster's version if one exists, else the newest installed server.
    local dir
    for dir in /etc/postgresql /usr/lib/postgresql; do
        if [ -d "$dir" ] && [ -n "$(ls "$dir" 2>/dev/null)" ]; then
            ls "$dir" | sort -V | tail -1
            return
        fi
    done
}

ensure_postgres() {
    local did=() installed=0 ver hba
    if pg_up; then
        did+=("already answering on $HOST:$PG_PORT")
    else
        need_root "starting PostgreSQL"
        if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
            apt_install postgresql
            installed=1
            did+=("installed")
        fi
        ver=$(pg_version)
        [ -n "$ver" ] || die "postgresql: no server version found after install"
        if [ ! -d "/etc/postgresql/$ver/$PG_CLUSTER" ]; then
            $SUDO pg_createcluster "$ver" "$PG_CLUSTER" -p "$PG_PORT" >/dev/null
            did+=("created cluster $ver/$PG_CLUSTER")
        fi
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" start </dev/null ||
            true # "already running" is not an error; the wait below decides
        wait_for pg_up || die "postgresql: cluster $ver/$PG_CLUSTER did not answer within ${WAIT_S}s"
        did+=("started cluster $ver/$PG_CLUSTER")
    fi
    command -v psql >/dev/null || apt_install postgresql-client

    # A fresh Debian cluster wants peer/scram logins; the tests connect over TCP without one.
    if ! pg_sql 'SELECT 1' >/dev/null 2>&1; then
        [ "$installed" -eq 1 ] || [ "${CI:-}" = "true" ] || [ "${PARLEY_PG_TRUST:-}" = "1" ] ||
            die "postgresql: user postgres cannot log in over TCP without a password;" \
                "rerun with PARLEY_PG_TRUST=1 to trust loopback connections"
        need_root "configuring pg_hba.conf"
        ver=${ver:-$(pg_version)}
        hba="/etc/postgresql/$ver/$PG_CLUSTER/pg_hba.conf"
        [ -f "$hba" ] || die "postgresql: $hba not found; cannot configure trust auth"
        if ! grep -qF "$MARK" "$hba"; then
            # First matching line wins, so the trust lines go on top.
            $SUDO sed -i "1i host all all 127.0.0.1/32 trust $MARK\nhost all all ::1/128 trust $MARK" "$hba"
        fi
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" reload </dev/null
        wait_for pg_sql 'SELECT 1' || die "postgresql: trust login still refused after reload"
        did+=("trusted loopback TCP logins in $hba")
    fi

    if [ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
        pg_sql "CREATE DATABASE \"$PG_DB\"" >/dev/null
        did+=("created database $PG_DB")
    else
        did+=("database $PG_DB exists")
    fi
    echo "postgresql: $(join "${did[@]}")"
}

# --------------------------------------------------------------------- Redis

redis_up() {
    (
        exec 3<>"/dev/tcp/$HOST/$REDIS_PORT" || exit 1
        printf 'PING\r\n' >&3
        read -r -t 2 reply <&3 || exit 1
        [[ $reply == +PONG* ]]
    ) 2>/dev/null
}

ensure_redis() {
    local did=()
    if redis_up; then
        echo "redis: already answering on $HOST:$REDIS_PORT"
        return
    fi
    need_root "starting Redis"
    if ! command -v redis-server >/dev/null; then
        apt_install redis-server
        did+=("installed")
    fi
    if ! redis_up; then # the package's own service may have started it
        $SUDO mkdir -p /var/lib/redis /var/log/redis
        $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
            --save "" --appendonly no --dir /var/lib/redis \
            --logfile /var/log/redis/ci.log </dev/null >/dev/null
        did+=("started on $HOST:$REDIS_PORT (no persistence)")
    fi
    wait_for redis_up || die "redis: did not answer within ${WAIT_S}s (see /var/log/redis/ci.log)"
    echo "redis: $(join "${did[@]}")"
}

ensure_postgres
ensure_redis
