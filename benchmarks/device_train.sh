#!/usr/bin/env bash
# Continues relight-synth-any's recipe on a lent GPU machine within its time, in one command, and judges
# the result against the model it started from on the renderer no model trains on:
#  1. data, made with `relight synth` on every core: `classic-shapes` scenes (the first any-to-any
#     model's family) and world scenes of both renderers with little sky fill (`--vary sky=0:0.2`, the
#     part of the world that keeps a clear directional signal; weights/relight-synth-any.md says why);
#  2. `relight train --any-to-any --init INIT` with the bundled model's last stage's options (shadow hints,
#     identity pairs that claim any light, the source withheld in 3 of 4 pairs, the cycle loss), on the
#     GPU until TRAIN_S seconds have passed (it checkpoints every epoch; the deadline stops it with
#     SIGTERM, and the best complete checkpoint on validation is the result);
#  3. benchmarks/generalise.py on the judge (JUDGE_SCENES scenes at 256 px, rendered on every core),
#     INIT and the result side by side, each also mirror-averaged (`--mirror-avg`), no source given.
# Everything it keeps is written under $OUT (or runs/device-train): the model, the run's config, metrics
# and summary, judge.json and the log.
#
# The lent machines (16 cores, one H100, no network, 15 minutes in all) hold torch but not pypng or isal:
# fetch their wheels here first (`bash benchmarks/device_check.sh --fetch-wheels`, into .whl/) and carry
# .whl beside the checkout. Settings come from the environment (defaults for the lent machine):
#
#   CLASSIC=640 WORLD=640 SIZE=128 TRAIN_S=360 JOBS=$(nproc) DEVICE=cuda BATCH=32 WORKERS=8 VAL=8
#   INIT=weights/relight-synth-any.safetensors ('' trains from scratch) JUDGE_SCENES=48 JUDGE_SIZE=256 JUDGE_TRIPLES=400
#   PYTHON=python3 WORK=(a temporary folder, removed at the end)
#   EXTRA="..."   (more `relight train` options, e.g. EXTRA="--lr 2e-4 --scales 0.75,1.5")
#
# WORLD scenes are split between the two renderers. `bash benchmarks/device_train.sh --dry-run` runs the
# same steps at a tiny size on the CPU (a few scenes of 64 pixels, a few steps, the judge at 32 pixels):
# the check that the script works, made where there is no GPU.
set -uo pipefail

if [[ "${1:-}" == "--dry-run" ]]; then
  export CLASSIC="${CLASSIC:-2}" WORLD="${WORLD:-2}" SIZE="${SIZE:-64}" TRAIN_S="${TRAIN_S:-600}" JOBS="${JOBS:-2}"
  export DEVICE="${DEVICE:-cpu}" BATCH="${BATCH:-2}" WORKERS="${WORKERS:-0}" STEPS="${STEPS:-3}" PAIRS="${PAIRS:-4}" VAL="${VAL:-1}"
  export JUDGE_SCENES="${JUDGE_SCENES:-2}" JUDGE_SIZE="${JUDGE_SIZE:-32}" JUDGE_TRIPLES="${JUDGE_TRIPLES:-4}"
fi

out="${OUT:-runs/device-train}"
classic="${CLASSIC:-640}"
world="${WORLD:-640}"
size="${SIZE:-128}"
train_s="${TRAIN_S:-360}"
jobs="${JOBS:-$(nproc)}"
device="${DEVICE:-cuda}"
batch="${BATCH:-32}"
workers="${WORKERS:-8}"
val="${VAL:-8}"      # training scenes held out for validation and the best checkpoint
init="${INIT-weights/relight-synth-any.safetensors}"
steps="${STEPS:-}"   # a cap on the steps besides the deadline (the dry run's)
pairs="${PAIRS:-}"   # pairs an epoch (default: 4 a training scene, so an epoch, and a checkpoint, comes often)
judge_scenes="${JUDGE_SCENES:-48}"
judge_size="${JUDGE_SIZE:-256}"  # the judge's size in the model cards
judge_triples="${JUDGE_TRIPLES:-400}"
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

# Data: each set is split into one slice a job (its own start index, so its own seeds and file names),
# every slice rendered at once on one thread; the sets start at other indices, so no two scenes share a name.
say "synth: $classic classic-shapes scenes and $world world scenes with little sky at $size px on $jobs cores"
started=$SECONDS
slices() {  # slices NAME COUNT FIRST [relight synth options...]: COUNT scenes from index FIRST into $work/train/NAME-*
  local name="$1" count="$2" first="$3"
  shift 3
  local per=$(( (count + jobs - 1) / jobs )) at
  for ((at = first; at < first + count; at += per)); do
    OMP_NUM_THREADS=1 relight synth "$work/train/$name-$at" --scenes $(( at + per > first + count ? first + count - at : per )) \
      --size "$size" --start-index "$at" "$@" >>"$log" 2>&1 &
  done
}
(( classic > 0 )) && slices classic "$classic" 2000 --family classic-shapes --seed 31
(( world / 2 > 0 )) && slices ray $(( world / 2 )) 0 --seed 41 --vary sky=0:0.2
(( world - world / 2 > 0 )) && slices raster $(( world - world / 2 )) 1000 --seed 42 --renderer raster --vary sky=0:0.2
failed=0
for pid in $(jobs -p); do wait "$pid" || failed=$((failed + 1)); done
if ((failed)); then say "synth: $failed job(s) failed (see $log)"; exit 1; fi
say "synth: done in $((SECONDS - started)) s"

# Training: until the deadline (SIGTERM: relight keeps its last complete checkpoint) or STEPS.
run="$work/run"
# relight-synth-any's last stage (its card), with the GPU's batch; the deadline ends it.
options=(--any-to-any --backbone narrow --width 16 --decoder-channels 32 --conditioning film --hints normals+shadows
  --no-depth-skips --margin 0 --perceptual-weight 0 --batch-size "$batch" --lr 1e-4 --epochs 1000 --milestones 1000
  --withhold-source 0.75 --identity-pairs 0.3 --identity-claims 1 --cycle-weight 0.25 --workers "$workers"
  --val-scenes "$val" --val-pairs 32 --device "$device" --seed 0)
[[ -n "$init" ]] && options+=(--init "$init")
[[ -n "$steps" ]] && options+=(--max-steps "$steps")
[[ -n "$pairs" ]] && options+=(--pairs-per-epoch "$pairs")
# shellcheck disable=SC2206  # EXTRA holds options, split as a shell splits them
options+=(${EXTRA:-})
say "train: relight train $work/train/*-* --out $run ${options[*]} (for at most $train_s s)"
started=$SECONDS
timeout --signal=TERM --kill-after=60 "$train_s" "$python" -m relight train "$work"/train/*-* --out "$run" "${options[@]}" \
  >>"$log" 2>&1
code=$?
say "train: exit $code after $((SECONDS - started)) s (124: stopped at the deadline)"
if [[ ! -f "$run/last.safetensors" ]]; then say "train: no checkpoint was written"; exit 1; fi
model="$run/best.safetensors"
[[ -f "$model" ]] || model="$run/last.safetensors"

say "judge: $model${init:+ against $init}, $judge_scenes scenes at $judge_size px"
judged=()
[[ -n "$init" ]] && judged+=(--weights "$init")
"$python" benchmarks/generalise.py "${judged[@]}" --weights "$model" --mirror-avg --renderers judge --families '' --photos '' \
  --scenes "$judge_scenes" --size "$judge_size" --triples "$judge_triples" --device "$device" --jobs "$jobs" \
  --data "$work/judge" --json "$out/judge.json" >>"$log" 2>&1 || { say "judge failed"; exit 1; }
cp "$model" "$out/model.safetensors"
for file in config.toml metrics.csv summary.json; do
  [[ -f "$run/$file" ]] && cp "$run/$file" "$out/$file"
done
say "done: $out holds model.safetensors, config.toml, metrics.csv, summary.json, judge.json and log.txt"
