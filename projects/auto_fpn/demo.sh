#!/usr/bin/env bash
# Auto-FPN's toy cycle on CPU, each stage under `mim train`:
#   1. fusion search: the Auto-fusion supernet in the toy Faster R-CNN (frozen backbone, no norm),
#      alternating updates on two halves of train, loss + lambda * expected cost
#      -> best_genotype.yaml (fusion) + searched_fusion.pth (the found neck's weights);
#   2. head search: the Auto-head supernet with the found neck fixed and its weights loaded
#      -> best_genotype.yaml (fusion + head);
#   3. retrain the toy Auto-FPN from that file (BN in the searched modules) and evaluate COCO bbox
#      mAP on toy val.
#   bash projects/auto_fpn/demo.sh WORK_DIR
# Writes WORK_DIR/demo_summary.json = {"ap": <toy val bbox mAP in %>, "genotype": ...}.
# Knobs (environment): AUTOFPN_SEARCH_EPOCHS (4, per stage; architecture updates from the
# middle), AUTOFPN_BATCHES (4, batches of each half per epoch), AUTOFPN_RETRAIN_EPOCHS (12).
set -euo pipefail
WORK=${1:-work_dirs/auto_fpn_demo}
SEARCH=${AUTOFPN_SEARCH_EPOCHS:-4}
BATCHES=${AUTOFPN_BATCHES:-4}
EPOCHS=${AUTOFPN_RETRAIN_EPOCHS:-12}
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
CFG=projects/auto_fpn/configs
mkdir -p "$WORK"
python tools/make_toy_coco.py --out data/toy_coco

rm -rf "$WORK/fusion" "$WORK/head"  # fresh searches (a killed one: --resume)
mim train mmdet $CFG/autofpn_search-fusion_faster-rcnn_r18-w16_toy.py --work-dir "$WORK/fusion" \
    --cfg-options train_cfg.max_epochs="$SEARCH" train_cfg.arch_start_epoch=$((SEARCH / 2)) \
    train_cfg.objective.max_batches="$BATCHES"
mim train mmdet $CFG/autofpn_search-head_faster-rcnn_r18-w16_toy.py --work-dir "$WORK/head" \
    --cfg-options model.neck.genotype="$WORK/fusion/best_genotype.yaml" \
    train_cfg.objective.neck_checkpoint="$WORK/fusion/searched_fusion.pth" \
    train_cfg.max_epochs="$SEARCH" train_cfg.arch_start_epoch=$((SEARCH / 2)) \
    train_cfg.objective.max_batches="$BATCHES"

GENOTYPE="$WORK/head/best_genotype.yaml"
mim train mmdet $CFG/faster-rcnn_r18-w16_autofpn-32_1xb8-12e_toy.py --work-dir "$WORK/retrain" \
    --cfg-options model.neck.genotype="$GENOTYPE" model.roi_head.bbox_head.genotype="$GENOTYPE" \
    train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="$EPOCHS" \
    param_scheduler.1.end="$EPOCHS" param_scheduler.1.T_max="$EPOCHS"

# toy val bbox mAP of the retrain, in %, from its logs (tools/read_metric.py)
AP=$(python tools/read_metric.py "$WORK/retrain" --key coco/bbox_mAP --percent)
printf '{"ap": %s, "genotype": "%s", "fusion_search": "%s"}\n' "$AP" "$GENOTYPE" \
    "$WORK/fusion/best_genotype.yaml" >"$WORK/demo_summary.json"
echo "Auto-FPN toy cycle: $(cat "$WORK/demo_summary.json")"
