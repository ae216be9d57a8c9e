#!/usr/bin/env bash
# Every GPU check of this project in ONE device run (the lent machine has no network and a 15-minute budget).
#
#   bash bench/gpu_session.sh fetch     # here: the wheels the GPU image lacks or has at other versions than
#                                       # requirements.txt pins (diffusers, torchao, transformers, peft, …; ~26 MB)
#                                       # into .whl/ (git-ignored); the image's torch, accelerate, tokenizers stay
#   then, with the device tool:  run(command="bash bench/gpu_session.sh run", carry=[".whl"], timeout_s=600)
#
# "run" installs the wheels into /tmp/site, then runs bench/gpu_checks.py (the studio's CUDA paths on the tiny
# models, ≤ 180 s) and bench/gpu_step.py --compile --fp8 --balanced (full-size transformers against the floor, and
# a Balanced vs Quality clip where it fits the budget, ≤ 400 s),
# writing both logs to $OUT. Paste the numbers into the README's Performance tables with the device name.
set -euo pipefail
cd "$(dirname "$0")/.."

pin() { grep -E "^$1==" requirements.txt | cut -d' ' -f1; }

case "${1:-}" in
fetch)
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
        -d .whl "$(pin diffusers)" "$(pin torchao)" "$(pin transformers)" "$(pin peft)" \
        ftfy==6.3.1 wcwidth==0.9.4 importlib_metadata==10.2.0 regex==2026.11.19
    ls -la .whl
    ;;
run)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 GRADIO_ANALYTICS_ENABLED=False
    out="${OUT:-/tmp/gpu-session}"
    mkdir -p "$out"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/device.txt"
    status=0
    timeout 180 python3 bench/gpu_checks.py 2>&1 | tee "$out/gpu_checks.log" || status=1
    timeout 400 python3 bench/gpu_step.py --compile --fp8 --balanced --budget-s 300 2>&1 | tee "$out/gpu_step.log" || status=1
    exit "$status"
    ;;
*)
    echo "usage: bash bench/gpu_session.sh fetch|run" >&2
    exit 2
    ;;
esac
