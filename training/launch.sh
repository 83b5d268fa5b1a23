#!/usr/bin/env bash
# Launch a guardagent training recipe on the GPUs of this node with accelerate.
#   bash training/launch.sh training/qwen2.5-7b.yaml runs/qwen7b [--set key=value ...]
# ACCELERATE_CONFIG picks the accelerate config (default: ZeRO-3 on 8 GPUs);
# NUM_PROCESSES overrides the number of GPUs.
set -euo pipefail
CONFIG=${1:?usage: launch.sh RECIPE.yaml OUTPUT_DIR [--set key=value ...]}
OUTPUT=${2:?usage: launch.sh RECIPE.yaml OUTPUT_DIR [--set key=value ...]}
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
ACCEL=${ACCELERATE_CONFIG:-$HERE/accelerate/zero3.yaml}
EXTRA=()
if [[ -n "${NUM_PROCESSES:-}" ]]; then EXTRA+=(--num_processes "$NUM_PROCESSES"); fi
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
export TOKENIZERS_PARALLELISM=false
exec accelerate launch --config_file "$ACCEL" "${EXTRA[@]}" -m guardagent.cli train \
  --config "$CONFIG" --output "$OUTPUT" "$@"
