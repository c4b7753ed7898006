#!/usr/bin/env bash
# SpineNet's toy cycle: search -> export -> retrain -> COCO eval, on the suite's toy set (CPU).
#   bash projects/spinenet/demo.sh WORK_DIR
# Run from the repo root with the venv's bin on PATH (`make demo` does both). Writes
# WORK_DIR/demo_summary.json = {"ap": <toy val bbox mAP in %>, ...}.
# Knobs (environment): SPINENET_SEARCH_STEPS (2), SPINENET_SAMPLES (2), SPINENET_PROXY_ITERS (20),
# SPINENET_RETRAIN_EPOCHS (12).
set -euo pipefail
WORK_DIR=${1:-work_dirs/spinenet_demo}
STEPS=${SPINENET_SEARCH_STEPS:-2}
SAMPLES=${SPINENET_SAMPLES:-2}
PROXY_ITERS=${SPINENET_PROXY_ITERS:-20}
EPOCHS=${SPINENET_RETRAIN_EPOCHS:-12}
# Small convs on a shared CPU run much faster single-threaded.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export MPLBACKEND=Agg
mkdir -p "$WORK_DIR"

# 1. search: RNN controller + REINFORCE, candidates trained as the toy proxy and scored on the
#    `search` split (held out of train); resumable in place.
mim train mmdet projects/spinenet/configs/spinenet_search_retinanet-proxy_toy.py \
    --work-dir "$WORK_DIR/search" \
    --cfg-options train_cfg.num_steps="$STEPS" train_cfg.samples_per_step="$SAMPLES" \
    train_cfg.proxy_max_iters="$PROXY_ITERS"

# 2. export: the search wrote best_genotype.yaml; 3. retrain it unchanged + COCO eval on val.
mim train mmdet projects/spinenet/configs/retinanet_spinenet-toy_1xb8-12e_toy.py \
    --work-dir "$WORK_DIR/retrain" \
    --cfg-options model.backbone.genotype="$WORK_DIR/search/best_genotype.yaml" \
    train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="$EPOCHS" \
    param_scheduler.1.end="$EPOCHS" param_scheduler.1.T_max="$EPOCHS"

python - "$WORK_DIR" <<'PY'
import glob, json, os, sys
work = sys.argv[1]
ap = None
for path in sorted(glob.glob(os.path.join(work, 'retrain', '*', 'vis_data', 'scalars.json'))):
    for line in open(path):
        rec = json.loads(line)
        if 'coco/bbox_mAP' in rec:
            ap = 100 * rec['coco/bbox_mAP']
if ap is None:
    sys.exit('no coco/bbox_mAP in the retrain logs')
best = os.path.join(work, 'search', 'best_genotype.yaml')
hist = os.path.join(work, 'search', 'search_history.jsonl')
summary = dict(ap=ap, genotype=best, candidates=sum(1 for _ in open(hist)))
json.dump(summary, open(os.path.join(work, 'demo_summary.json'), 'w'), indent=1)
print('SpineNet toy cycle:', summary)
PY
