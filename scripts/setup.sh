#!/usr/bin/env bash
# Installs everything the project needs: Debian packages (when root), a venv, the package and its test tools.
set -euo pipefail
venv="${1:-.venv}"
cd "$(dirname "$0")/.."

want=$(grep -vE '^\s*(#|$)' scripts/system-packages.txt | tr '\n' ' ')
missing=""
for p in $want; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "setup: please install these Debian packages (as root):$missing" >&2
  fi
fi

py=$(command -v python3.11 || command -v python3)
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e '.[dev]'
# The multi-person pose bundle is assembled from the installed MediaPipe wheel's own models (nothing downloaded).
"$venv/bin/python" -m kiosk.vision.models build || echo "setup: pose bundle not built; legacy pose (one person per zone) will be used"
echo "setup: done ($("$venv/bin/python" --version))"
