#!/usr/bin/env bash
# Debian packages the tests need: PostgreSQL and RabbitMQ (private servers are started by the test
# harness, test/helpers/postgres.ts and test/helpers/rabbitmq.ts) and a C++ toolchain for
# better-sqlite3, which builds from source because prebuilt binaries cannot be downloaded here.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v git >/dev/null 2>&1 || need+=(git)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${need[@]}"
fi
echo "== PostgreSQL server: $(ls -d /usr/lib/postgresql/*/bin | tail -1); RabbitMQ: $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null)"
