#!/usr/bin/env bash
# NAS-FPN toy cycle on CPU: controller search on the toy proxy -> export best_genotype.yaml ->
# retrain the toy NAS-FPN RetinaNet with it, unchanged -> COCO bbox eval on the toy val split.
# Usage (from anywhere): projects/nas_fpn/demo.sh WORK_DIR
# Writes WORK_DIR/search/{search_history.jsonl,samples.jsonl,best_genotype.yaml,
#   search_progress.png},
# WORK_DIR/retrain/ and WORK_DIR/demo_summary.json = {"ap": <toy val bbox mAP in percent>}.
set -euo pipefail
WORK=$(realpath -m "${1:?usage: projects/nas_fpn/demo.sh WORK_DIR}")
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
# one intra-op thread: on a small shared CPU, thread oversubscription slows training ~5x
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
mkdir -p "$WORK"
python tools/make_toy_coco.py --out data/toy_coco
mim train mmdet projects/nas_fpn/configs/nasfpn_search_r10-w16_nasfpn-3x32_toy.py \
    --work-dir "$WORK/search"
mim train mmdet projects/nas_fpn/configs/retinanet_r18-w16_nasfpn-3x64_1xb8-12e_toy.py \
    --work-dir "$WORK/retrain" --cfg-options model.neck.genotype="$WORK/search/best_genotype.yaml"
python - "$WORK" <<'PY'
import glob, json, os.path as osp, sys
work = sys.argv[1]
ap = None
for path in sorted(glob.glob(osp.join(work, 'retrain', '*', 'vis_data', 'scalars.json'))):
    for line in open(path):
        rec = json.loads(line)
        if 'coco/bbox_mAP' in rec:
            ap = 100.0 * rec['coco/bbox_mAP']
if ap is None:
    sys.exit('no coco/bbox_mAP in the retrain logs')
json.dump({'ap': round(ap, 2)}, open(osp.join(work, 'demo_summary.json'), 'w'))
print(f'NAS-FPN toy demo: val bbox mAP {ap:.1f}% -> {work}/demo_summary.json')
PY
