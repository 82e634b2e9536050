#!/usr/bin/env bash
# Installs everything the callbot needs on a fresh Debian machine: system packages, a virtualenv in .venv,
# the package with its test extra, and (unless CALLBOT_WITH_COQUI=0) the optional Coqui TTS engine.
# Idempotent and quick when nothing changed (a stamp file records what was installed).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
APT_PACKAGES=(espeak-ng sox libsox-fmt-all sip-tester kamailio postgresql chromium)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

stamp="$VENV/.callbot-setup"
want=$(cat pyproject.toml scripts/setup.sh scripts/install-coqui.sh 2>/dev/null | sha256sum | cut -c1-16)-${CALLBOT_WITH_COQUI:-1}
if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
  [ -x "$VENV/bin/python" ] || python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e ".[test,postgres]"
  if [ "${CALLBOT_WITH_COQUI:-1}" != "0" ]; then
    VENV="$VENV" bash scripts/install-coqui.sh
  fi
  echo "$want" > "$stamp"
  echo "setup: ready ($VENV)"
fi
# The end-of-turn model (8.7 MB, taken out of the pipecat-ai wheel on PyPI); a no-op once it is installed.
"$VENV/bin/callbot" models path smart-turn-v3.2 >/dev/null 2>&1 || "$VENV/bin/callbot" models pull smart-turn-v3.2
