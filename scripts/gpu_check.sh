#!/usr/bin/env bash
# One-shot GPU check (issue 9). On a CUDA machine:
#   1. the side-by-side benchmark (seed-style Trainer script vs bench run vs bare loop, matmul peak
#      measured there) on bbc-news at max_length 256;
#   2. a small bf16 matrix: {minilm-l6, mpnet-base} x {128, 512}, bench vs bare loop, reporting
#      model-FLOPs utilisation against the bf16 matmul peak measured on that GPU (target: >= 40% for
#      mpnet-base at max_length 512).
# On a machine without CUDA it says so, skips the CUDA parts and runs a tiny CPU version of step 1
# so that the script itself is exercised.
#   bash scripts/gpu_check.sh                  (writes reports under ${OUT:-results/gpu_check})
#   SCALE=2 bash scripts/gpu_check.sh          (twice the training rows)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-.venv/bin/bench}
PY=${PY:-.venv/bin/python}
OUT=${OUT:-results/gpu_check}
SCALE=${SCALE:-1}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT"

if "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  echo "== 1. side by side on CUDA: bbc-news, minilm-l6, L=256 =="
  "$BENCH" perf --task bbc-news --model minilm-l6 --max-length 256 --limit-train $((1024 * SCALE)) \
    --limit-eval 200 --epochs 1 --repeats 2 --json "$OUT/perf_bbc_minilm_L256.json"
  echo "== 2. small bf16 matrix: MFU against the bf16 peak measured here =="
  models="minilm-l6"
  if "$PY" -c "from bench.components.models import get_model, model_path; model_path(get_model('mpnet-base'))" 2>/dev/null; then
    models="minilm-l6 mpnet-base"
  else
    echo "mpnet-base is not installed (WITH_MPNET=1 bash scripts/install.sh): its cells are skipped"
  fi
  for model in $models; do
    for L in 128 512; do
      echo "-- $model, L=$L, bf16"
      "$BENCH" perf --task bbc-news --model "$model" --max-length "$L" --limit-train $((512 * SCALE)) \
        --limit-eval 100 --epochs 1 --repeats 1 --precision bf16 --runners bench,bare --batch-size 16 \
        --json "$OUT/perf_bbc_${model}_L${L}_bf16.json"
    done
  done
  echo "target: MFU >= 40% for mpnet-base at L=512 (the 'bench' row of its report)"
else
  echo "no CUDA device here: the CUDA parts (GPU side-by-side, bf16 matrix, GPU MFU) are SKIPPED."
  echo "Running a tiny CPU version of the side-by-side benchmark so the script is exercised:"
  BENCH_DEVICE=cpu "$BENCH" perf --task drugs-sentiment --model tiny-bert --max-length 128 --limit-train 32 \
    --limit-eval 20 --epochs 1 --repeats 1 --json "$OUT/perf_cpu_tiny.json"
  echo "CUDA parts skipped (no GPU); CPU numbers: docs/PERFORMANCE.md (bench perf, real models)."
fi
