#!/usr/bin/env bash
# Issue 5's checks for a CUDA machine in one command, every result written under $OUT (or runs/device):
# the GPU tests, the paper model at 1024x1024 (optimised bf16 against the eager fp32 reference, peak
# memory, the largest batch that fits), relight batch against the network alone, and (issue 23) the
# backends on CUDA: relight's torch path in bf16 against ONNX Runtime's CUDA and TensorRT execution
# providers (backends-cuda.json names the fastest: set relight.inference.backend.CUDA_MEASURED from it).
# ONNX Runtime's GPU build (onnxruntime-gpu, with TensorRT's libraries for its provider) must already be
# on the machine: its wheels are too large to carry; without it, that step says what it could not measure.
#
# The lent machines' image holds torch, torchvision and most of relight's dependencies, but not pypng,
# isal or lpips, and it cannot download. Fetch those here first, as wheels for its Python 3.12:
#
#     bash benchmarks/device_check.sh --fetch-wheels      # into .whl/ (ignored by git)
#
# then run `bash benchmarks/device_check.sh` there with .whl carried beside the checkout. SIZE and
# DEVICE (default 1024 and cuda) shrink it to a smoke test on a CPU: SIZE=64 DEVICE=cpu.
set -uo pipefail

if [[ "${1:-}" == "--fetch-wheels" ]]; then
  exec python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "pypng>=0.20220715" "isal>=1.6" "lpips>=0.1.4" "onnx>=1.17"
fi

out="${OUT:-runs/device}"
size="${SIZE:-1024}"
device="${DEVICE:-cuda}"
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/relight-site .whl/*.whl || exit
  export PYTHONPATH="/tmp/relight-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

failed=0
step() {  # run one check, its output also in $out/NAME.txt; a failure is counted, and the rest still run
  local name="$1"
  shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "$out/$name.txt" || failed=$((failed + 1))
}

command -v nvidia-smi >/dev/null && step gpu nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
step tests python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_devices.py
step "paper-$size" python3 benchmarks/inference.py --device "$device" --variants paper --sizes "$size" --repeats 5 \
  --json "$out/paper-$size.json"
step "batch-$size" python3 benchmarks/batch.py --device "$device" --size "$size" --images 16 --repeats 3 \
  --json "$out/batch-$size.json"
if [[ "$device" == cuda* ]]; then
  step "backends-cuda" python3 benchmarks/backends.py --models paper --cuda "$size" --rounds 5 --json "$out/backends-cuda.json"
fi
echo "== $failed check(s) failed; results in $out"
exit "$failed"
