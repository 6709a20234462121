#!/usr/bin/env bash
# A private MariaDB server for the tests and benchmarks, on loopback only.
#   scripts/mariadb.sh start DIR   initialises DIR (a fresh datadir), starts mariadbd on
#                                  127.0.0.1 and a free port, creates the database mlctest and
#                                  the user dgtest with a random password, and prints the path
#                                  of DIR/env, a file of shell assignments to source:
#                                  DG_MYSQL_HOST, DG_MYSQL_PORT, DG_MYSQL_USER, DG_MYSQL_DB,
#                                  DG_MYSQL_PASSWORD_FILE (a 0600 file), DG_MYSQL_SOCKET and
#                                  DG_MYSQL_TLS_CA (the CA of the server's TLS certificate).
#   scripts/mariadb.sh stop DIR    stops that server and removes DIR.
# Installs nothing (scripts/deps.sh test does). The password is never printed.
# DG_MARIADB_BUFFER_POOL sets InnoDB's buffer pool (default 512M; the benchmark
# gives it room for the full-size tables).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

stop() {
  if [ -f "$dir/run/mariadbd.pid" ]; then
    pid=$(cat "$dir/run/mariadbd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "$cmd" in
stop) stop; exit 0 ;;
start) ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

command -v mariadbd >/dev/null || PATH=$PATH:/usr/sbin
command -v mariadbd >/dev/null ||
  { echo "mariadbd not found: run scripts/deps.sh test" >&2; exit 1; }
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
mkdir -p "$dir"
# The server runs as mysql: it may enter DIR but not read it; data and run are its own.
chmod 0711 "$dir"
mkdir -p "$dir/data" "$dir/run"
chown mysql:mysql "$dir/data" "$dir/run"
mariadb-install-db --user=mysql --datadir="$dir/data" --auth-root-authentication-method=socket \
  --skip-test-db >"$dir/install.log" 2>&1 ||
  { cat "$dir/install.log" >&2; exit 1; }
# A CA and a server certificate for 127.0.0.1, so that the TLS modes are tested
# for real (verify_identity passes with this CA and fails without it).
mkdir -p "$dir/tls"
(
  cd "$dir/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=demographer test CA" \
    -keyout ca-key.pem -out ca.pem
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server-key.pem \
    -out server.csr
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
    -extfile ext.cnf -out server.pem
) >"$dir/tls.log" 2>&1 || { cat "$dir/tls.log" >&2; exit 1; }
chown -R mysql:mysql "$dir/tls"
chmod 0644 "$dir/tls/ca.pem"
port=$(/usr/bin/python3 -c \
  'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sock="$dir/run/mysqld.sock"
mariadbd --no-defaults --user=mysql --datadir="$dir/data" --socket="$sock" --port="$port" \
  --bind-address=127.0.0.1 --pid-file="$dir/run/mariadbd.pid" --log-error="$dir/run/error.log" \
  --skip-name-resolve --local-infile=1 \
  --innodb-buffer-pool-size="${DG_MARIADB_BUFFER_POOL:-512M}" \
  --innodb-flush-log-at-trx-commit=2 --max-allowed-packet=64M \
  --ssl-ca="$dir/tls/ca.pem" --ssl-cert="$dir/tls/server.pem" \
  --ssl-key="$dir/tls/server-key.pem" </dev/null >/dev/null 2>&1 &
for _ in $(seq 1 300); do
  [ -S "$sock" ] && mariadb-admin --no-defaults --socket="$sock" -u root ping >/dev/null 2>&1 &&
    break
  sleep 0.1
done
mariadb-admin --no-defaults --socket="$sock" -u root ping >/dev/null 2>&1 ||
  { echo "mariadbd did not start; its log:" >&2; cat "$dir/run/error.log" >&2; exit 1; }

umask 077
pwfile="$dir/password"
head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$pwfile"
pw=$(cat "$pwfile")
# Over the root socket, on stdin: the password never appears in a process's arguments.
mariadb --no-defaults --socket="$sock" -u root <<SQL
CREATE DATABASE mlctest;
CREATE USER 'dgtest'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER 'dgtest'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`mlctest%\`.* TO 'dgtest'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`mlctest%\`.* TO 'dgtest'@'localhost';
SQL
unset pw
cat >"$dir/env" <<ENV
DG_MYSQL_HOST=127.0.0.1
DG_MYSQL_PORT=$port
DG_MYSQL_USER=dgtest
DG_MYSQL_DB=mlctest
DG_MYSQL_PASSWORD_FILE=$pwfile
DG_MYSQL_SOCKET=$sock
DG_MYSQL_TLS_CA=$dir/tls/ca.pem
ENV
echo "$dir/env"
