#!/usr/bin/env bash
# The suite's GPU checks in one run: the suite's reference figure and the throughput
# comparisons of the paper projects (SpineNet, NAS-FPN, DetNAS).
#
# On the lent GPU machine (see README "Benchmark figures"), from the repo root:
#     source .gpu/bootstrap.sh && bash tools/gpu_checks.sh "$OUT"
# Each check is one command (printed before it runs and kept in commands.txt); its table goes to
# <name>.log and its figures to <name>.json in the output folder, summary.md gathers the tables.
# Every baseline runs in the same invocation as the model it is compared with, at the same batch
# and resolution, on random inputs with random weights (tools/benchmark.py).
#
# Same commands at a tiny size on CPU, to check the script itself:
#     DEVICE=cpu SMOKE=1 bash tools/gpu_checks.sh /tmp/gpu_checks_smoke
set -u
out=${1:-work_dirs/gpu_checks}
device=${DEVICE:-cuda}
step_timeout=${STEP_TIMEOUT:-240}
py=${PYTHON:-python3}
mkdir -p "$out"
: >"$out/commands.txt"
: >"$out/summary.md"

if [ "${SMOKE:-0}" = 1 ]; then
    timing=(--iters 1 --warmup 1)
    s640=(128 128) s800=(128 192) s1216=(128 192) batch8=2 batch2=1
else
    timing=(--iters 20 --warmup 5)
    s640=(640 640) s800=(800 1333) s1216=(800 1216) batch8=8 batch2=2
fi
retinanet_r50=mmdet::retinanet/retinanet_r50_fpn_1x_coco.py
faster_rcnn_r50=mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py
failed=0

check() {  # check NAME CMD...: run CMD with --json <out>/NAME.json, log its output
    local name=$1
    shift
    echo "== $name: $*" | tee -a "$out/commands.txt"
    if timeout "$step_timeout" "$@" --json "$out/$name.json" >"$out/$name.log" 2>&1; then
        { echo "### $name"; echo; echo "\`$*\`"; echo; grep -E '^(\||batch|supernet|fixed)' "$out/$name.log"; echo; } >>"$out/summary.md"
    else
        echo "   FAILED (exit $?), see $out/$name.log" | tee -a "$out/summary.md"
        failed=$((failed + 1))
    fi
    tail -n 8 "$out/$name.log"
}

# the suite's reference figure, RetinaNet R-50-FPN at mmdet's 1x size
check retinanet_r50_fpn $py tools/benchmark.py $retinanet_r50 \
    --batch $batch8 --size "${s1216[@]}" --device "$device" "${timing[@]}"
# SpineNet-49 (TPU zoo 350-epoch model) vs RetinaNet R-50-FPN at 640
check spinenet49_vs_r50fpn_640 $py tools/benchmark.py \
    projects/spinenet/configs/retinanet_spinenet-49_syncbn_8xb32-lsj-350e_coco-640.py \
    --compare $retinanet_r50 --batch $batch8 --size "${s640[@]}" --device "$device" "${timing[@]}"
# R-50 NAS-FPN 7@256 (mmdet form) vs RetinaNet R-50-FPN at 640
check nasfpn_vs_r50fpn_640 $py tools/benchmark.py \
    projects/nas_fpn/configs/retinanet_r50_nasfpn-7x256_8xb8-crop640-50e_coco.py \
    --compare $retinanet_r50 --batch $batch8 --size "${s640[@]}" --device "$device" "${timing[@]}"
# DetNAS: the cost of weight sharing (supernet step vs fixed subnet of the same path)
check detnas_supernet_cost $py projects/detnas/tools/supernet_cost.py \
    projects/detnas/configs/faster-rcnn_detnas-300m-supernet_fpn-4conv1fc_syncbn_8xb2-90k_coco.py \
    --genotype detnas_coco_fpn_300m --batch $batch2 --size "${s800[@]}" --device "$device" "${timing[@]}"
# DetNAS-3.8G Faster R-CNN vs Faster R-CNN R-50-FPN at 800x1333
check detnas38g_vs_r50fpn_800 $py tools/benchmark.py \
    projects/detnas/configs/faster-rcnn_detnas-coco-fpn-3.8g_fpn-4conv1fc_syncbn_8xb2-90k_coco.py \
    --compare $faster_rcnn_r50 --batch $batch2 --size "${s800[@]}" --device "$device" "${timing[@]}"

echo "summary: $out/summary.md ($failed failed)"
exit $failed
