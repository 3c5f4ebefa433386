#!/usr/bin/env bash
# One-shot GPU check (issue 18): ONE script, at most 10 minutes on one GPU.
#   1. side by side (bench perf): the seed recipe (HF Trainer, pad to max_length, fp32) vs bench run
#      vs the bare loop, for mpnet-base at L=512, bench and bare in bf16; MFU against the bf16 dense
#      matmul peak measured on that GPU (n=8192);
#   2. a small bf16 matrix: bbc-news and drugs-sentiment x {minilm-l6, mpnet-base} x L {128, 512} x
#      imbalance {none, logit_adjust} (logit_adjust reuses none's training: bench.run.share);
#   3. OUT/summary.json + OUT/summary.md (python -m bench.perf.summary), written whatever the steps did.
# Each step has its own time limit (STEP1_S, STEP2_S); a step that fails or runs out is listed in
# the summary with its exit code, and the script goes on.
# Without CUDA it says that the CUDA parts are skipped and runs the same steps on a tiny budget
# (tiny-bert, CPU) so that the script itself is exercised.
#
#   bash scripts/gpu_check.sh [--out DIR] [--dry-run]
#     --out DIR   where reports go (default results/gpu_check)
#     --dry-run   print the plan (device, steps, commands, limits) and run nothing
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-${VENV:-.venv}/bin/bench}
PY=${PY:-${VENV:-.venv}/bin/python}
OUT=results/gpu_check
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "gpu_check.sh: --out needs a folder" >&2; exit 2; }; OUT=$2; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$1' (use --out DIR, --dry-run)" >&2; exit 2 ;;
  esac
done
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  CUDA=1
  MODEL=mpnet-base
  if ! "$PY" -c "from bench.components.models import get_model, model_path; model_path(get_model('mpnet-base'))" \
      >/dev/null 2>&1; then
    echo "mpnet-base is not installed (WITH_MPNET=1 bash scripts/install.sh): step 1 uses minilm-l6 instead"
    MODEL=minilm-l6
  fi
  MODELS="minilm-l6"
  if [ "$MODEL" = mpnet-base ]; then MODELS="minilm-l6, mpnet-base"; fi
  PERF=(perf --task bbc-news --model "$MODEL" --max-length 512 --precision bf16 --limit-train 1024 --limit-eval 200
        --epochs 1 --batch-size 16 --repeats 2 --peak-n 8192 --json "$OUT/perf_${MODEL}_L512_bf16.json")
  MATRIX_BODY="tasks: [bbc-news, drugs-sentiment]
models: [$MODELS]
max_length: [128, 512]
imbalance: [none, logit_adjust]
seeds: [0]
train: {batch_size: 16, precision: bf16, learning_rate: 5.0e-5, early_stopping_patience: null}
budget: {limit_train: 512, limit_eval: 200, epochs: 1}"
  STEP1_S=${STEP1_S:-280}; STEP2_S=${STEP2_S:-220}  # + start-up and summary: under 10 minutes
else
  CUDA=0
  echo "no CUDA device here: the CUDA parts (mpnet-base side by side at L=512 in bf16, GPU MFU, the GPU bf16 matrix)"
  echo "are SKIPPED; running the same steps on a tiny CPU budget (tiny-bert, random-init) to exercise the script."
  export BENCH_DEVICE=cpu
  PERF=(perf --task drugs-sentiment --model tiny-bert --max-length 64 --limit-train 32 --limit-eval 20 --epochs 1
        --repeats 1 --peak-n 256 --json "$OUT/perf_tiny_cpu.json")
  MATRIX_BODY="tasks: [drugs-sentiment]
models: [tiny-bert]
max_length: [64]
imbalance: [none, logit_adjust]
seeds: [0]
train: {batch_size: 16, latency_docs: 2, early_stopping_patience: null}
budget: {limit_train: 32, limit_eval: 20, epochs: 1}"
  STEP1_S=${STEP1_S:-240}; STEP2_S=${STEP2_S:-240}
fi
MATRIX_CMD=(run --matrix "$OUT/gpu_check_matrix.yaml" --out "$OUT/matrix")

if [ "$DRY" = 1 ]; then
  echo "gpu_check.sh --dry-run: CUDA=$CUDA, output $OUT"
  echo "step 1 (limit ${STEP1_S}s): $BENCH ${PERF[*]}"
  echo "step 2 (limit ${STEP2_S}s): $BENCH ${MATRIX_CMD[*]}"
  printf '  matrix:\n%s\n' "$(printf 'name: gpu_check\n%s\n' "$MATRIX_BODY" | sed 's/^/    /')"
  echo "step 3: $PY -m bench.perf.summary $OUT  (summary.json, summary.md)"
  exit 0
fi

mkdir -p "$OUT"
: > "$OUT/steps.tsv"
printf 'name: gpu_check\n%s\n' "$MATRIX_BODY" > "$OUT/gpu_check_matrix.yaml"
if [ "$CUDA" = 1 ] && command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
fi

step() {  # step NAME LIMIT_S CMD...: run with a time limit, log exit code and seconds, never stop the script
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS rc=0
  echo "== $name (limit ${limit}s): $*"
  timeout "$limit" "$@" || rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" >> "$OUT/steps.tsv"
  [ "$rc" = 0 ] || echo "== $name: exit code $rc$([ "$rc" = 124 ] && echo ' (time limit)')"
}

step side_by_side "$STEP1_S" "$BENCH" "${PERF[@]}"
step bf16_matrix "$STEP2_S" "$BENCH" "${MATRIX_CMD[@]}"
"$PY" -m bench.perf.summary "$OUT"
[ "$CUDA" = 1 ] || echo "CUDA parts skipped (no GPU): the summary holds the tiny CPU run only."
