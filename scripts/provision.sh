#!/usr/bin/env bash
# Provisions what the tests talk to, so that `make test` tests everything on
# a fresh machine with Go only:
#
#   - Go tools pinned in scripts/tools/go.mod (versitygw, age's CLI,
#     staticcheck, cyclonedx-gomod), built once into $CUSTOS_TOOLS
#     (default ~/.cache/custos-tools) and rebuilt when the pins change;
#   - Debian packages that cannot be built here (OpenSSH, MariaDB, zstd,
#     strace; for integration also Wine, mingw-w64, Ansible, sudo),
#     installed with apt when running as root, else one line naming them
#     and a failure: never a silent skip;
#   - MariaDB running on 127.0.0.1:3306 with a database test.
#
#   bash scripts/provision.sh test|integration|tools
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}
tools=${CUSTOS_TOOLS:-$HOME/.cache/custos-tools}
log() { printf '== provision: %s\n' "$*" >&2; }

# Go tools, pinned. The stamp is the SHA-256 of the pins: a new pin rebuilds.
mkdir -p "$tools"
stamp=$(cat scripts/tools/go.mod scripts/tools/go.sum | sha256sum | cut -c1-16)
if [ "$(cat "$tools/.stamp" 2>/dev/null)" != "$stamp" ] || ! [ -x "$tools/versitygw" ] || ! [ -x "$tools/age" ]; then
  log "building the pinned Go tools into $tools (versitygw, age, staticcheck, cyclonedx-gomod; a few minutes the first time)"
  (cd scripts/tools && GOBIN="$tools" GOFLAGS=-mod=mod go install tool)
  # age-keygen comes with age's CLI.
  (cd scripts/tools && GOBIN="$tools" GOFLAGS=-mod=mod go install filippo.io/age/cmd/age-keygen)
  echo "$stamp" > "$tools/.stamp"
fi
[ "$what" = tools ] && exit 0

# Debian packages.
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have zstd                 || need+=(zstd)
have ssh-keygen           || need+=(openssh-client)
have /usr/sbin/sshd       || need+=(openssh-server)
have strace               || need+=(strace)
have /usr/sbin/mariadbd   || need+=(mariadb-server)
have sha256sum            || need+=(coreutils)
if [ "$what" = integration ]; then
  have wine || have /usr/lib/wine/wine64 || need+=(wine wine64)
  have x86_64-w64-mingw32-gcc || need+=(gcc-mingw-w64-x86-64)
  have ansible-playbook || need+=(ansible)
  have sudo || need+=(sudo)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && have apt-get; then
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "make $what needs Debian packages this machine lacks: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

# MariaDB on 127.0.0.1:3306, root without password, database test.
if ! mariadb -h 127.0.0.1 -u root -e 'select 1' >/dev/null 2>&1; then
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
  for _ in $(seq 60); do
    mariadb -h 127.0.0.1 -u root -e 'select 1' >/dev/null 2>&1 && break
    sleep 1
  done
fi
if ! mariadb -h 127.0.0.1 -u root -e 'create database if not exists test' >/dev/null 2>&1; then
  echo "make $what needs MariaDB on 127.0.0.1:3306 (root, no password): it does not answer; start it with: start-stop-daemon --start --background --exec /usr/sbin/mariadbd" >&2
  exit 1
fi
