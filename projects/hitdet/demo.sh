#!/usr/bin/env bash
# Hit-Detector's toy cycle on CPU, each stage under `mim train`:
#   1. screening of the head: its 4 positions over the whole 32-op pool, group-sparse
#      architecture weights, pruned to 8 ops -> screened_ops.yaml;
#   2. end-to-end search: the trinity supernet (backbone and neck over the paper's sub-spaces,
#      the head over the screened 8), alternating updates on two halves of train, FLOPs term;
#   3. retrain the toy Hit-Detector from best_genotype.yaml and evaluate COCO bbox mAP on toy val.
#   bash projects/hitdet/demo.sh WORK_DIR
# Writes WORK_DIR/demo_summary.json = {"ap": <toy val bbox mAP in %>, "genotype": ..., ...}.
# Knobs (environment): HITDET_SCREEN_EPOCHS (3), HITDET_SEARCH_EPOCHS (4), HITDET_BATCHES (2,
# batches of each half per epoch), HITDET_RETRAIN_EPOCHS (12).
set -euo pipefail
WORK=${1:-work_dirs/hitdet_demo}
SCREEN=${HITDET_SCREEN_EPOCHS:-3}
SEARCH=${HITDET_SEARCH_EPOCHS:-4}
BATCHES=${HITDET_BATCHES:-2}
EPOCHS=${HITDET_RETRAIN_EPOCHS:-12}
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
CFG=projects/hitdet/configs
mkdir -p "$WORK"
python tools/make_toy_coco.py --out data/toy_coco

rm -rf "$WORK/screen-head" "$WORK/search"  # fresh searches (a killed one: --resume)
mim train mmdet $CFG/hitdet_screen-head_faster-rcnn-w0.25_toy.py --work-dir "$WORK/screen-head" \
    --cfg-options train_cfg.max_epochs="$SCREEN" train_cfg.objective.max_batches="$BATCHES"
mim train mmdet $CFG/hitdet_search_faster-rcnn-w0.25_toy.py --work-dir "$WORK/search" \
    --cfg-options model.roi_head.bbox_head.candidates="$WORK/screen-head/screened_ops.yaml" \
    train_cfg.max_epochs="$SEARCH" train_cfg.arch_start_epoch=$((SEARCH / 2)) \
    train_cfg.objective.max_batches="$BATCHES"

GENOTYPE="$WORK/search/best_genotype.yaml"
mim train mmdet $CFG/faster-rcnn_hitdet-w0.25_hitdet-pafpn-32_1xb8-12e_toy.py \
    --work-dir "$WORK/retrain" --cfg-options model.backbone.genotype="$GENOTYPE" \
    model.neck.genotype="$GENOTYPE" model.roi_head.bbox_head.genotype="$GENOTYPE" \
    train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="$EPOCHS" \
    param_scheduler.1.end="$EPOCHS" param_scheduler.1.T_max="$EPOCHS"

# toy val bbox mAP of the retrain, in %, from its logs (tools/read_metric.py)
AP=$(python tools/read_metric.py "$WORK/retrain" --key coco/bbox_mAP --percent)
printf '{"ap": %s, "genotype": "%s", "screened_head": "%s"}\n' "$AP" "$GENOTYPE" \
    "$WORK/screen-head/screened_ops.yaml" >"$WORK/demo_summary.json"
echo "Hit-Detector toy cycle: $(cat "$WORK/demo_summary.json")"
