#!/usr/bin/env bash
# Installs the optional Coqui TTS engine into $VENV on the CPU, without ever pulling a CUDA build of torch.
# Route: torch 2.13.0 CPU wheel (on local disk) first, then coqui-tts and what it imports (see README).
set -euo pipefail
VENV=${VENV:-.venv}
PIP="$VENV/bin/pip"
"$PIP" install -q "torch==2.13.0"
"$PIP" install -q "coqui-tts==0.28.0" "six" "torch==2.13.0"
# torchaudio's registry build is a CUDA build whose compiled libraries fail against the CPU torch; its pure
# Python part is all coqui-tts needs here, so install it without deps and move the compiled libraries away.
"$PIP" install -q --no-deps "torchaudio==2.11.0" torchcodec
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if compgen -G "$site/torchaudio/lib/*.so" >/dev/null; then
  mkdir -p "$site/torchaudio/lib.cuda-disabled"
  mv "$site"/torchaudio/lib/*.so "$site/torchaudio/lib.cuda-disabled/"
fi
"$VENV/bin/python" -c 'from TTS.api import TTS' && echo "install-coqui: coqui-tts ready"
