#!/usr/bin/env bash
# The GPU protocol (first thing to run on a GPU machine): devices, quick suite, reference
# workloads, fidelity (step timers), energy methods, export. Each step has its own timeout, so a
# hang costs one step; everything worth keeping lands in $OUT (at most 8 files).
#
#   OUT=/tmp/gpu bash bench/gpu.sh            # on the GPU machine (about 6 minutes)
#   SMOKE=1 OUT=/tmp/gpu bash bench/gpu.sh    # here, on the CPU, tiny sizes: tests the script
#   PART=15 OUT=/tmp/gpu bash bench/gpu.sh    # issue 15 only: inference latency, time to target (3 min)
#
# The lent H100/H200 image has torch but not SQLAlchemy or transformers: carry them as wheels in
# .whl/ (see the device tool's README: pip download --only-binary=:all: --python-version 3.12 ...
# sqlalchemy greenlet transformers huggingface_hub tokenizers safetensors regex).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-artifacts/gpu}
mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=".:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 ACCELSCOPE_DB="sqlite:///$OUT/gpu.db"
LOG="$OUT/log.md"
DEVICE=cuda:0; PRECISIONS="fp32 tf32 bf16"; SIZES="M"; SECONDS_=2; BIG=1  # 12 probes, about 2 minutes
FIDELITY="gpu.fidelity()"; INFER="gpu.infer_bare()"
if [ "${SMOKE:-0}" = 1 ]; then
  DEVICE=cpu; PRECISIONS="fp32"; SIZES="S"; SECONDS_=0.5; BIG=0
  FIDELITY="gpu.fidelity('cpu', n=256, seconds=0.3, workloads=(('mlp', 'S', 'fp32'),))"
  INFER="gpu.infer_bare('cpu', size='S', batches=(1, 4), compiled=(False,), latency_iterations=10, precision='fp32')"
fi

BUDGET_S=${BUDGET_S:-300}  # steps that would start after this many seconds are skipped (the export still runs)
HARD_S=${HARD_S:-380}      # and none runs past this many seconds of the script
step() {  # step TIMEOUT_S TITLE COMMAND...
  local limit=$1 title=$2; shift 2
  echo -e "\n## $title\n\n\`$*\`\n" >> "$LOG"
  if [ "$SECONDS" -ge "$BUDGET_S" ]; then echo "(skipped: ${SECONDS} s spent of the ${BUDGET_S} s budget)" >> "$LOG"; return; fi
  local started=$SECONDS
  [ $((HARD_S - SECONDS)) -lt "$limit" ] && limit=$((HARD_S - SECONDS))
  timeout "$limit" "$@" >> "$LOG" 2>&1
  echo -e "\n(exit $?, $((SECONDS - started)) s)" >> "$LOG"
}

echo "# GPU protocol${PART:+ (part $PART)}, $(date -u +%FT%TZ)" > "$LOG"
nvidia-smi >> "$LOG" 2>&1 || echo "(no nvidia-smi)" >> "$LOG"
finish() {
  step 60 "Results" python3 -m core results --price-sheet aws
  python3 -m core results --format csv > "$OUT/results.csv" 2>> "$LOG"
  python3 -m core export "$OUT/bundle-$(date -u +%F)${PART:+-part$PART}.json" >> "$LOG" 2>&1
  rm -f "$OUT/gpu.db" "$OUT"/gpu.db-*
  echo "done: $(ls "$OUT" | tr '\n' ' ')"
}
if [ "${PART:-}" = 15 ]; then  # issue 15 on the GPU: inference latency and time to target (about 3 minutes)
  RN=resnet50; BATCHES=1,256; PRECISION=bf16; CONVERGE_PRECISIONS="fp32 bf16"; BARE="gpu.infer_bare(compiled=(False,))"
  if [ "${SMOKE:-0}" = 1 ]; then
    RN=S; BATCHES=1,4; PRECISION=fp32; CONVERGE_PRECISIONS=fp32
    BARE="gpu.infer_bare('cpu', size='S', batches=(1, 4), compiled=(False,), latency_iterations=10, precision='fp32')"
  fi
  step 90 "Inference: cnn/$RN $PRECISION channels-last, batches $BATCHES" python3 -m core probe --mode infer \
    --workload cnn --size $RN --device "$DEVICE" --precision $PRECISION --channels-last --batch $BATCHES \
    --seconds 3 --idle-seconds 0
  step 40 "Bare inference loop on the same machine (eager)" python3 -c "from bench import gpu; $BARE"
  for precision in $CONVERGE_PRECISIONS; do
    step 60 "Time to target: cnn/S $precision to smoothed loss 0.05 (cap 30 s)" python3 -m core probe --mode converge \
      --workload cnn --size S --device "$DEVICE" --precision $precision --target-loss 0.05 --max-seconds 30 \
      --idle-seconds 0
  done
  step 120 "Inference: cnn/$RN $PRECISION channels-last, torch.compile, batches $BATCHES" python3 -m core probe \
    --mode infer --workload cnn --size $RN --device "$DEVICE" --precision $PRECISION --channels-last --compile \
    --batch $BATCHES --seconds 3 --idle-seconds 0
  finish
  exit 0
fi
step 60 "Devices" sh -c "python3 -m core devices --json > '$OUT/devices.json'"
cat "$OUT/devices.json" >> "$LOG"
step 200 "Quick suite" python3 -m core suite --devices "$DEVICE" --workloads gemm mlp cnn transformer \
  --sizes $SIZES --precisions $PRECISIONS --seconds "$SECONDS_" --idle-seconds 2
if [ "$BIG" = 1 ]; then
  step 60 "ResNet-50, bf16, channels-last, batch 256" python3 -m core probe --workload cnn --size resnet50 \
    --device "$DEVICE" --precision bf16 --batch-size 256 --channels-last --seconds 5 --idle-seconds 0
  step 60 "ResNet-50, tf32, channels-last, batch 256" python3 -m core probe --workload cnn --size resnet50 \
    --device "$DEVICE" --precision tf32 --batch-size 256 --channels-last --seconds 5 --idle-seconds 0
  step 60 "GPT-2 124M, bf16, context 1024, batch 8" python3 -m core probe --workload transformer \
    --size gpt2-small --device "$DEVICE" --precision bf16 --seconds 5 --idle-seconds 0
  step 60 "gemm XL (8192), bf16" python3 -m core probe --workload gemm --size XL --device "$DEVICE" \
    --precision bf16 --seconds 5 --idle-seconds 0
fi
step 90 "Fidelity: probe vs bare loop; tight torch.mm" python3 -c "from bench import gpu; $FIDELITY"
step 60 "Step timer: events vs host sync" python3 -c "from bench import gpu; gpu.timer()"
step 60 "Energy: NVML counter vs power samples" python3 -c "from bench import gpu; gpu.energy()"
step 150 "Bare inference loop (issue 15's reference): ResNet-50, eager and compiled" \
  python3 -c "from bench import gpu; $INFER"
if [ "$BIG" = 1 ]; then
  # Issue 12 (needs transformers, which the lent image has): GPT-2 from transformers next to the
  # built-in above, and the memory estimate against max_memory_allocated.
  step 90 "GPT-2 124M from transformers (zoo), bf16, context 1024, batch 8" python3 -m core probe --workload zoo \
    --size gpt2-small --device "$DEVICE" --precision bf16 --seconds 5 --idle-seconds 0
  step 120 "Memory estimate vs max_memory_allocated" python3 -c "from bench import gpu; gpu.zoo_memory()"
  step 120 "GPT-2 124M, bf16, torch.compile" python3 -m core probe --workload transformer \
    --size gpt2-small --device "$DEVICE" --precision bf16 --compile --seconds 5 --idle-seconds 0
fi
finish
