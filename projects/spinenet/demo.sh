#!/usr/bin/env bash
# SpineNet's toy cycle: search -> export -> retrain -> COCO eval, on the suite's toy set (CPU).
#   bash projects/spinenet/demo.sh WORK_DIR
# Run from the repo root with the venv's bin on PATH (`make demo` does both). Writes
# WORK_DIR/demo_summary.json = {"ap": <toy val bbox mAP in %>, ...}.
# Knobs (environment): SPINENET_SEARCH_STEPS (2), SPINENET_SAMPLES (2), SPINENET_PROXY_ITERS
# (unset: the search config's 3 toy epochs = 120 iterations, a proxy that ranks; 20 did not),
# SPINENET_RETRAIN_EPOCHS (12).
set -euo pipefail
WORK_DIR=${1:-work_dirs/spinenet_demo}
STEPS=${SPINENET_SEARCH_STEPS:-2}
SAMPLES=${SPINENET_SAMPLES:-2}
PROXY_OPTS=()
if [ -n "${SPINENET_PROXY_ITERS:-}" ]; then
    PROXY_OPTS=(train_cfg.objective.max_iters="$SPINENET_PROXY_ITERS")
fi
EPOCHS=${SPINENET_RETRAIN_EPOCHS:-12}
# Small convs on a shared CPU run much faster single-threaded.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export MPLBACKEND=Agg
mkdir -p "$WORK_DIR"

# 1. search: RNN controller + REINFORCE, candidates trained as the toy proxy and scored on the
#    `search` split (held out of train). A fresh search each time (a killed one continues with
#    the same command plus --resume).
rm -rf "$WORK_DIR/search"
mim train mmdet projects/spinenet/configs/spinenet_search_retinanet-proxy_toy.py \
    --work-dir "$WORK_DIR/search" \
    --cfg-options train_cfg.num_steps="$STEPS" train_cfg.samples_per_step="$SAMPLES" \
    ${PROXY_OPTS[@]+"${PROXY_OPTS[@]}"}

# 2. export: the search wrote best_genotype.yaml; 3. retrain it unchanged + COCO eval on val.
mim train mmdet projects/spinenet/configs/retinanet_spinenet-toy_1xb8-12e_toy.py \
    --work-dir "$WORK_DIR/retrain" \
    --cfg-options model.backbone.genotype="$WORK_DIR/search/best_genotype.yaml" \
    train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="$EPOCHS" \
    param_scheduler.1.end="$EPOCHS" param_scheduler.1.T_max="$EPOCHS"

# toy val bbox mAP of the retrain, in %, from its logs (tools/read_metric.py)
AP=$(python tools/read_metric.py "$WORK_DIR/retrain" --key coco/bbox_mAP --percent)
CANDIDATES=$(wc -l <"$WORK_DIR/search/search_history.jsonl")
printf '{"ap": %s, "genotype": "%s", "candidates": %d}\n' "$AP" \
    "$WORK_DIR/search/best_genotype.yaml" "$CANDIDATES" >"$WORK_DIR/demo_summary.json"
echo "SpineNet toy cycle: $(cat "$WORK_DIR/demo_summary.json")"
