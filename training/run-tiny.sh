#!/usr/bin/env bash
# The tiny CPU recipe (< 15 minutes on 2 cores): SFT + GRPO, then SFT-vs-GRPO evaluation.
#   bash training/run-tiny.sh [OUTPUT_DIR]
set -euo pipefail
OUT=${1:-runs/tiny}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec nice -n 5 guardagent train --config "$(dirname "$0")/tiny-cpu.yaml" --output "$OUT"
