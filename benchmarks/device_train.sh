#!/usr/bin/env bash
# Trains an any-to-any model on a lent GPU machine within its time, in one command: synthetic data made
# with `relight synth` on every core, `relight train --any-to-any` on the GPU until TRAIN_S seconds have
# passed (it checkpoints every epoch; the deadline stops it with SIGTERM, and the last complete
# checkpoint is the result), then `relight eval --any-to-any` on held-out scenes of the other renderer.
# Everything it keeps is written under $OUT (or runs/device-train): the best checkpoint, the run's
# config, metrics and summary, the evaluation, and the log.
#
# The lent machines (16 cores, one H100, no network, 15 minutes in all) hold torch but not pypng or isal:
# fetch their wheels here first (`bash benchmarks/device_check.sh --fetch-wheels`, into .whl/) and carry
# .whl beside the checkout. Settings come from the environment (defaults for the lent machine):
#
#   SCENES=640 HELDOUT=32 SIZE=128 TRAIN_S=420 JOBS=$(nproc) DEVICE=cuda BATCH=32 WORKERS=8 VAL=8
#   HINTS=none EVAL_PAIRS=200 PYTHON=python3 WORK=(a temporary folder, removed at the end)
#   EXTRA="..."   (more `relight train` options, e.g. EXTRA="--init relight-synth-narrow")
#
# `bash benchmarks/device_train.sh --dry-run` runs the same steps at a tiny size on the CPU (4 scenes of
# 64 pixels, a few steps): the check that the script works, made where there is no GPU.
set -uo pipefail

if [[ "${1:-}" == "--dry-run" ]]; then
  export SCENES="${SCENES:-4}" HELDOUT="${HELDOUT:-2}" SIZE="${SIZE:-64}" TRAIN_S="${TRAIN_S:-600}" JOBS="${JOBS:-2}"
  export DEVICE="${DEVICE:-cpu}" BATCH="${BATCH:-2}" WORKERS="${WORKERS:-0}" STEPS="${STEPS:-3}" PAIRS="${PAIRS:-4}" VAL="${VAL:-1}"
  export EVAL_PAIRS="${EVAL_PAIRS:-20}"
fi

out="${OUT:-runs/device-train}"
scenes="${SCENES:-640}"
heldout="${HELDOUT:-32}"
size="${SIZE:-128}"
train_s="${TRAIN_S:-420}"
jobs="${JOBS:-$(nproc)}"
device="${DEVICE:-cuda}"
batch="${BATCH:-32}"
workers="${WORKERS:-8}"
val="${VAL:-8}"      # training scenes held out for validation and the best checkpoint
hints="${HINTS:-none}"
steps="${STEPS:-}"   # a cap on the steps besides the deadline (the dry run's)
pairs="${PAIRS:-}"   # pairs an epoch (default: 4 a training scene, so an epoch, and a checkpoint, comes often)
eval_pairs="${EVAL_PAIRS:-200}"
python="${PYTHON:-python3}"
if [[ -n "${WORK:-}" ]]; then
  work="$WORK"
else
  work="$(mktemp -d /tmp/relight-device-train.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$out" "$work"
log="$out/log.txt"
: >"$log"

if compgen -G ".whl/*.whl" >/dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/relight-site .whl/*.whl || exit
  export PYTHONPATH="/tmp/relight-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 RELIGHT_OFFLINE=1
relight() { "$python" -m relight "$@"; }
say() { echo "== $(date +%T) $*" | tee -a "$log"; }

# Data: each job renders its own slice of the scenes (its own seed stream and file names), one thread each.
say "synth: $scenes training scenes (ray) and $heldout held-out scenes (raster) at $size px on $jobs cores"
started=$SECONDS
per=$(( (scenes + jobs - 1) / jobs ))
for ((j = 0; j < jobs; j++)); do
  first=$((j * per))
  count=$(( first + per > scenes ? scenes - first : per ))
  (( count > 0 )) || continue
  OMP_NUM_THREADS=1 relight synth "$work/train/part$j" --scenes "$count" --size "$size" --seed 31 \
    --start-index "$first" >>"$log" 2>&1 &
done
OMP_NUM_THREADS=1 relight synth "$work/heldout" --scenes "$heldout" --size "$size" --seed 32 --start-index 900 \
  --renderer raster >>"$log" 2>&1 &
failed=0
for pid in $(jobs -p); do wait "$pid" || failed=$((failed + 1)); done
if ((failed)); then say "synth: $failed job(s) failed (see $log)"; exit 1; fi
say "synth: done in $((SECONDS - started)) s"

# Training: until the deadline (SIGTERM: relight keeps its last complete checkpoint) or STEPS.
run="$work/run"
options=(--any-to-any --hints "$hints" --backbone narrow --width 16 --decoder-channels 32 --conditioning film
  --perceptual-weight 0 --batch-size "$batch" --lr 5e-4 --epochs 1000 --milestones 1000 --scales 0.75,1.5
  --withhold-source 0.75 --workers "$workers" --val-scenes "$val" --val-pairs 32 --device "$device" --seed 0)
[[ -n "$steps" ]] && options+=(--max-steps "$steps")
[[ -n "$pairs" ]] && options+=(--pairs-per-epoch "$pairs")
# shellcheck disable=SC2206  # EXTRA holds options, split as a shell splits them
options+=(${EXTRA:-})
say "train: relight train $work/train/part* --out $run ${options[*]} (for at most $train_s s)"
started=$SECONDS
timeout --signal=TERM --kill-after=60 "$train_s" "$python" -m relight train "$work"/train/part* --out "$run" "${options[@]}" \
  >>"$log" 2>&1
code=$?
say "train: exit $code after $((SECONDS - started)) s (124: stopped at the deadline)"
if [[ ! -f "$run/last.safetensors" ]]; then say "train: no checkpoint was written"; exit 1; fi
model="$run/best.safetensors"
[[ -f "$model" ]] || model="$run/last.safetensors"

# On torch, as auto picks on CUDA: a model scored once does not repay an ONNX export (the CPU dry run's case).
say "eval: $model on $work/heldout"
relight eval "$work/heldout" --any-to-any --weights "$model" --pairs "$eval_pairs" --device "$device" --backend torch \
  --json "$out/eval.json" \
  >>"$log" 2>&1 || { say "eval failed"; exit 1; }
cp "$model" "$out/model.safetensors"
for file in config.toml metrics.csv summary.json; do
  [[ -f "$run/$file" ]] && cp "$run/$file" "$out/$file"
done
say "done: $out holds model.safetensors, config.toml, metrics.csv, summary.json, eval.json and log.txt"
