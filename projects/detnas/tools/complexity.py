"""Print params/FLOPs of the published DetNAS backbones at 224x224 beside the paper's figures.

Usage (repo root): ``python projects/detnas/tools/complexity.py``

Columns: params of the ImageNet network (backbone + the paper's head) from
``mmengine.analysis.get_model_complexity_info``; FLOPs three ways (one multiply-add = one FLOP):
mmengine's count of the ImageNet network (BN counted as 2 FLOPs per element), the same without BN
(BN folded into the convs: conv + FC multiply-adds, the usual ShuffleNet convention), and the
detection backbone alone (stem + choice blocks, mmengine = the lookup table).
"""
import torch
from mmengine.analysis import get_model_complexity_info

from projects.detnas.detnas import (DetNASClassifier, count_module_flops, get_flops_table,
                                    load_genotype)

NAMES = ('detnas_coco_fpn_300m', 'detnas_coco_fpn_1_3g', 'detnas_coco_fpn_3_8g',
         'detnas_coco_retinanet_300m')


def main():
    torch.set_num_threads(1)
    x = torch.zeros(1, 3, 224, 224)
    print('| model | paper params | ours params (with head) | paper FLOPs | ours FLOPs, head, '
          'mmengine | ours FLOPs, head, BN folded | ours FLOPs, backbone only |')
    print('|---|---|---|---|---|---|---|')
    for name in NAMES:
        data = load_genotype(name)
        model = DetNASClassifier(data).eval()
        with torch.no_grad():
            info = get_model_complexity_info(model, inputs=(x, ), show_table=False, show_arch=False)
        folded, _ = count_module_flops(model, x, count_bn=False)
        table = get_flops_table(data['stage_repeats'], data['stage_out_channels'])
        paper = data['paper']
        print(f"| {data['name']} | {paper['params_M']}M | {info['params'] / 1e6:.2f}M | "
              f"{paper['flops_M']}M | {info['flops'] / 1e6:.0f}M | {folded / 1e6:.0f}M | "
              f"{table.flops(data['genotype']) / 1e6:.0f}M |")


if __name__ == '__main__':
    main()
