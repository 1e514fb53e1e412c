#!/usr/bin/env bash
# Install the Debian packages the tests need when they are missing:
# PostgreSQL server (tests run against a throwaway cluster), Chromium (dashboard
# browser test), libharfbuzz-subset0 (WeasyPrint PDF fonts), a Java 17 runtime (pyspark,
# the Spark executor's tests). Needs root for apt-get.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || need+=(libharfbuzz-subset0)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)  # Spark executor tests
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root or install them: apt-get install ${need[*]})" >&2
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
