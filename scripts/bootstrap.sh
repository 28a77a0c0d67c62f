#!/usr/bin/env bash
# Create .venv and install inhabit with everything the demo and the tests need.
#
# torch: a CUDA build that the base interpreter already has is reused (the venv then sees the
# base site-packages); on a machine with an NVIDIA driver and no torch, the default (CUDA) wheel
# is installed; everywhere else torch==2.13.0, the CPU build, is pinned so that pip never pulls
# gigabytes of CUDA packages.
# mediapipe 0.10.21 is the newest release that ships BlazePose's .tflite files; its metadata pins
# numpy<2 and protobuf<5 which it does not need, so it goes in with --no-deps (protobuf>=6.31.1,<7
# comes from pyproject). open-clip-torch is installed the same way for its MIT CLIP BPE vocabulary.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
VENV=".venv"
STAMP="$VENV/.inhabit-bootstrap"
want="$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  exit 0
fi

base_has_cuda_torch() {
  "$PY" - <<'PY' 2>/dev/null
import sys
try:
    import torch
except Exception:
    sys.exit(1)
sys.exit(0 if torch.version.cuda else 1)
PY
}

if [[ ! -x "$VENV/bin/python" ]]; then
  if base_has_cuda_torch; then
    echo "bootstrap: reusing the CUDA torch of $PY (venv with system site-packages)"
    "$PY" -m venv --system-site-packages "$VENV"
  else
    "$PY" -m venv "$VENV"
  fi
fi
VPY="$VENV/bin/python"
"$VPY" -m pip install -q --upgrade pip

if "$VPY" -c "import torch" 2>/dev/null; then
  echo "bootstrap: keeping installed torch $("$VPY" -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "bootstrap: NVIDIA driver found, installing a CUDA build of torch"
  "$VPY" -m pip install -q "torch>=2.4"
else
  echo "bootstrap: no CUDA, pinning the CPU build torch==2.13.0"
  "$VPY" -m pip install -q "torch==2.13.0"
fi

"$VPY" -m pip install -q -e ".[dev]"
"$VPY" -m pip install -q --no-deps "mediapipe==0.10.21" "open-clip-torch==3.3.0"
echo "$want" > "$STAMP"
echo "bootstrap: done ($("$VPY" -c 'import torch; print("torch", torch.__version__)'))"
