#!/usr/bin/env bash
# NAS-FCOS's toy cycle on CPU, each stage under `mim train`:
#   0. a frozen backbone: the suite's toy RetinaNet baseline, trained briefly (it stands in for the
#      paper's ImageNet-pretrained backbone);
#   1. decoder search (phase 1, standard FCOS head): the backbone's features of the train and
#      search splits are stored once, each proposed decoder trains on them, reward = -(FCOS
#      losses) on the stored search split;
#   2. head search (phase 2) on the best decoder, the same stored features;
#   3. retrain the toy NAS-FCOS detector from phase 2's best_genotype.yaml (backbone from step 0)
#      and evaluate COCO bbox mAP on the toy val split.
#   bash projects/nas_fcos/demo.sh WORK_DIR
# Writes WORK_DIR/demo_summary.json = {"ap": <toy val bbox mAP in %>, "genotype": ..., ...}.
# Knobs (environment): NAS_FCOS_BACKBONE_EPOCHS (4), NAS_FCOS_STEPS (2), NAS_FCOS_SAMPLES (2),
# NAS_FCOS_PROXY_ITERS (40), NAS_FCOS_RETRAIN_EPOCHS (12).
set -euo pipefail
WORK=${1:-work_dirs/nas_fcos_demo}
BB_EPOCHS=${NAS_FCOS_BACKBONE_EPOCHS:-4}
STEPS=${NAS_FCOS_STEPS:-2}
SAMPLES=${NAS_FCOS_SAMPLES:-2}
ITERS=${NAS_FCOS_PROXY_ITERS:-40}
EPOCHS=${NAS_FCOS_RETRAIN_EPOCHS:-12}
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
CFG=projects/nas_fcos/configs
mkdir -p "$WORK"
python tools/make_toy_coco.py --out data/toy_coco

mim train mmdet configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py --work-dir "$WORK/backbone" \
    --cfg-options train_cfg.max_epochs="$BB_EPOCHS" train_cfg.val_interval="$BB_EPOCHS" \
    param_scheduler.1.end="$BB_EPOCHS" param_scheduler.1.T_max="$BB_EPOCHS"
BACKBONE=$(cat "$WORK/backbone/last_checkpoint")

rm -rf "$WORK/search-decoder" "$WORK/search-head"  # fresh searches (a killed one: --resume)
SEARCH_OPTS=(train_cfg.num_steps="$STEPS" train_cfg.samples_per_step="$SAMPLES"
    train_cfg.objective.max_iters="$ITERS" train_cfg.objective.feature_dir="$WORK/features"
    train_cfg.objective.backbone_init.checkpoint="$BACKBONE")
mim train mmdet $CFG/nas-fcos_search-decoder_r18-w16_fcos-head_toy.py \
    --work-dir "$WORK/search-decoder" --cfg-options "${SEARCH_OPTS[@]}"
mim train mmdet $CFG/nas-fcos_search-head_r18-w16_toy.py --work-dir "$WORK/search-head" \
    --cfg-options "${SEARCH_OPTS[@]}" train_cfg.decoder="$WORK/search-decoder/best_genotype.yaml"

GENOTYPE="$WORK/search-head/best_genotype.yaml"
mim train mmdet $CFG/nas-fcos_r18-w16_nas-fcos-fpn-64_nas-fcos-head_1xb8-12e_toy.py \
    --work-dir "$WORK/retrain" --cfg-options model.neck.genotype="$GENOTYPE" \
    model.bbox_head.genotype="$GENOTYPE" model.backbone.init_cfg.type=Pretrained \
    model.backbone.init_cfg.checkpoint="$BACKBONE" model.backbone.init_cfg.prefix=backbone. \
    train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="$EPOCHS" \
    param_scheduler.1.end="$EPOCHS" param_scheduler.1.T_max="$EPOCHS"

# toy val bbox mAP of the retrain, in %, from its logs (tools/read_metric.py)
AP=$(python tools/read_metric.py "$WORK/retrain" --key coco/bbox_mAP --percent)
printf '{"ap": %s, "genotype": "%s", "decoder_candidates": %d, "head_candidates": %d}\n' "$AP" \
    "$GENOTYPE" "$(wc -l <"$WORK/search-decoder/search_history.jsonl")" \
    "$(wc -l <"$WORK/search-head/search_history.jsonl")" >"$WORK/demo_summary.json"
echo "NAS-FCOS toy cycle: $(cat "$WORK/demo_summary.json")"
