#!/usr/bin/env bash
# Debian packages the full test suite uses beyond Python: Node.js/npm (builds the
# dashboard's ECharts), Chromium and a Chinese font (the dashboard test's screenshot: the
# city screen is in Chinese, and without a CJK font every label is a row of boxes),
# promtool (checks the Prometheus rules) and PostgreSQL (the embedded stack; the pgserver
# wheel is the fallback).
# Installs only what is missing; needs root (CI runs as root). Safe to run again.
set -euo pipefail
need=()
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then
    echo "==> system packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]} (install them as root: apt-get install ${need[*]})" >&2
    exit 0
fi
echo "==> installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The prometheus package would start a server: the project only needs promtool.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now prometheus 2>/dev/null || true; fi
pkill -x prometheus 2>/dev/null || true
