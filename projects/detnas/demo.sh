#!/usr/bin/env bash
# DetNAS toy cycle on CPU, the paper's three steps and the retrain, each under `mim train`:
#   1. ImageNet supernet pretraining (toy classification crops of the toy COCO set)
#   2. COCO supernet fine-tuning (RetinaNet, one path per step, backbone from step 1)
#   3. evolutionary search (BN recalibration, bbox mAP on the held-out `search` split)
#   4. retrain the searched architecture from best_genotype.yaml unchanged as the paper does (not
#      from the supernet weights): (a) on the toy ImageNet set, then (b) fine-tuned on toy COCO from
#      those weights, with the same input normalisation; COCO bbox eval on the toy val split.
# Usage (from anywhere): projects/detnas/demo.sh WORK_DIR
# Writes WORK_DIR/{imagenet,supernet,search,retrain-imagenet,retrain}/ and
# WORK_DIR/demo_summary.json = {"ap": <toy val bbox mAP in %>, "top1": <toy ImageNet supernet val
# top-1>, "retrain_top1": <the found path's toy ImageNet val top-1>, "genotype": <its file>}.
# Knobs (environment): DETNAS_RETRAIN_EPOCHS (12), DETNAS_RETRAIN_IMAGENET_ITERS (600, step 4a).
set -euo pipefail
EPOCHS=${DETNAS_RETRAIN_EPOCHS:-12}
IN_ITERS=${DETNAS_RETRAIN_IMAGENET_ITERS:-600}
WORK=$(realpath -m "${1:?usage: projects/detnas/demo.sh WORK_DIR}")
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
# one intra-op thread: on a small shared CPU, thread oversubscription slows training ~5x
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
CFG=projects/detnas/configs
mkdir -p "$WORK"
python tools/make_toy_coco.py --out data/toy_coco
python projects/detnas/tools/make_toy_imagenet.py --coco data/toy_coco --out data/toy_imagenet
mim train mmdet $CFG/detnas_supernet-toy_1xb16-600it_toy-imagenet.py --work-dir "$WORK/imagenet"
mim train mmdet $CFG/retinanet_detnas-supernet-toy_fpn_1xb8-16e_toy.py --work-dir "$WORK/supernet" \
    --cfg-options model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.prefix=backbone. \
    model.backbone.init_cfg.checkpoint="$(cat "$WORK/imagenet/last_checkpoint")"
rm -rf "$WORK/search"  # a fresh search (a killed one continues with --resume)
mim train mmdet $CFG/detnas_search_retinanet-toy_toy.py --work-dir "$WORK/search" \
    --cfg-options load_from="$(cat "$WORK/supernet/last_checkpoint")"
mim train mmdet $CFG/detnas_subnet-toy_1xb16-600it_toy-imagenet.py \
    --work-dir "$WORK/retrain-imagenet" \
    --cfg-options model.backbone.genotype="$WORK/search/best_genotype.yaml" \
    train_cfg.max_iters="$IN_ITERS" train_cfg.val_interval="$IN_ITERS" \
    param_scheduler.0.end=$((IN_ITERS + 1)) default_hooks.checkpoint.interval="$IN_ITERS"
mim train mmdet $CFG/retinanet_detnas-toy_fpn_1xb8-12e_toy.py --work-dir "$WORK/retrain" \
    --cfg-options model.backbone.genotype="$WORK/search/best_genotype.yaml" \
    model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.prefix=backbone. \
    model.backbone.init_cfg.checkpoint="$(cat "$WORK/retrain-imagenet/last_checkpoint")" \
    train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="$EPOCHS" \
    param_scheduler.1.end="$EPOCHS" param_scheduler.1.T_max="$EPOCHS"
# toy val bbox mAP of the retrain (in %) and the toy ImageNet top-1 of the supernet and of the
# found path, from their logs
AP=$(python tools/read_metric.py "$WORK/retrain" --key coco/bbox_mAP --percent)
TOP1=$(python tools/read_metric.py "$WORK/imagenet" --key accuracy/top1 || echo null)
RETRAIN_TOP1=$(python tools/read_metric.py "$WORK/retrain-imagenet" --key accuracy/top1 || echo null)
printf '{"ap": %s, "top1": %s, "retrain_top1": %s, "genotype": "%s"}\n' "$AP" "$TOP1" \
    "$RETRAIN_TOP1" "$WORK/search/best_genotype.yaml" >"$WORK/demo_summary.json"
echo "DetNAS toy demo: val bbox mAP $AP%, toy ImageNet supernet top-1 $TOP1 -> $WORK/demo_summary.json"
