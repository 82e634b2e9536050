#!/usr/bin/env bash
# Installs the optional Coqui TTS engine into $VENV on the CPU, without ever pulling a CUDA build of torch.
#
# Route (see README, "Speech output"): the torch 2.13.0 CPU wheel (on local disk, found through pip's
# find-links) first; then coqui-tts 0.28.0 and six with torch held at that exact build by a constraints file;
# then torchaudio 2.11.0 and torchcodec without their dependencies (the registry's torchaudio is a CUDA build:
# its compiled libraries do not load against the CPU torch, so they are moved aside and it imports as pure
# Python, which is all coqui-tts needs). Idempotent: does nothing when coqui-tts already imports on a CPU torch.
set -euo pipefail
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
PIP=("$PY" -m pip)
TORCH="torch==2.13.0+cpu"

ready() {
  "$PY" - <<'EOF' 2>/dev/null
import torch
assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build"
from TTS.api import TTS  # noqa: F401
EOF
}

if ready; then
  echo "install-coqui: coqui-tts already ready in $VENV"
  exit 0
fi

constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "$TORCH" > "$constraints"

if ! "${PIP[@]}" install -q "$TORCH"; then
  echo "install-coqui: the CPU wheel $TORCH is not available (pip's find-links / local wheel directory);" >&2
  echo "install-coqui: refusing to install a CUDA build of torch. Place the CPU wheel there and retry." >&2
  exit 1
fi
"${PIP[@]}" install -q -c "$constraints" "coqui-tts==0.28.0" six
"${PIP[@]}" install -q --no-deps "torchaudio==2.11.0" "torchcodec"

site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if compgen -G "$site/torchaudio/lib/*.so" >/dev/null; then
  mkdir -p "$site/torchaudio/lib.cuda-disabled"
  mv "$site"/torchaudio/lib/*.so "$site/torchaudio/lib.cuda-disabled/"
fi

if "${PIP[@]}" list 2>/dev/null | grep -qi '^nvidia-'; then
  echo "install-coqui: a CUDA package (nvidia-*) was installed into $VENV; this must not happen" >&2
  exit 1
fi
if ! ready; then
  echo "install-coqui: coqui-tts does not import in $VENV (see the README's Coqui section)" >&2
  "$PY" -c 'from TTS.api import TTS' || true
  exit 1
fi
echo "install-coqui: coqui-tts ready in $VENV"
