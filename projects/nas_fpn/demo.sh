#!/usr/bin/env bash
# NAS-FPN toy cycle on CPU: controller search on the toy proxy -> export best_genotype.yaml ->
# retrain the toy NAS-FPN RetinaNet with it, unchanged -> COCO bbox eval on the toy val split.
# Usage (from anywhere): projects/nas_fpn/demo.sh WORK_DIR
# Writes WORK_DIR/search/{search_history.jsonl,search_state.pth,best_genotype.yaml,
#   search_progress.png},
# WORK_DIR/retrain/ and WORK_DIR/demo_summary.json = {"ap": <toy val bbox mAP in percent>}.
# Knobs (environment): NASFPN_SEARCH_STEPS (2), NASFPN_SAMPLES (2), NASFPN_RETRAIN_EPOCHS (12; the
# tests use other budgets).
set -euo pipefail
STEPS=${NASFPN_SEARCH_STEPS:-2}
SAMPLES=${NASFPN_SAMPLES:-2}
EPOCHS=${NASFPN_RETRAIN_EPOCHS:-12}
WORK=$(realpath -m "${1:?usage: projects/nas_fpn/demo.sh WORK_DIR}")
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
# one intra-op thread: on a small shared CPU, thread oversubscription slows training ~5x
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
mkdir -p "$WORK"
python tools/make_toy_coco.py --out data/toy_coco
rm -rf "$WORK/search"  # a fresh search (a killed one continues with --resume)
mim train mmdet projects/nas_fpn/configs/nasfpn_search_r10-w16_nasfpn-3x32_toy.py \
    --work-dir "$WORK/search" \
    --cfg-options train_cfg.num_steps="$STEPS" train_cfg.samples_per_step="$SAMPLES"
mim train mmdet projects/nas_fpn/configs/retinanet_r18-w16_nasfpn-3x64_1xb8-12e_toy.py \
    --work-dir "$WORK/retrain" --cfg-options model.neck.genotype="$WORK/search/best_genotype.yaml" \
    train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="$EPOCHS" \
    param_scheduler.1.end="$EPOCHS" param_scheduler.1.T_max="$EPOCHS"
# toy val bbox mAP of the retrain, in %, from its logs (tools/read_metric.py)
AP=$(python tools/read_metric.py "$WORK/retrain" --key coco/bbox_mAP --percent)
echo "{\"ap\": $AP}" >"$WORK/demo_summary.json"
echo "NAS-FPN toy demo: val bbox mAP $AP% -> $WORK/demo_summary.json"
