"""RetinaNet head as the SpineNet paper's code builds it: shared convs, one BN per level.

tensorflow/tpu ``models/official/detection/modeling/architecture/heads.py`` ``RetinanetHead``:
the 3x3 convs of the class and box nets (with bias) are shared by P3..P7, but "each level has its
batch normalization to capture the statistical difference among different levels"; the number of
convs and filters come from the config (``retinanet_head.num_convs/num_filters``: 4 x 256 by
default, 128 filters for SpineNet-49S, 7 x 512 for SpineNet-190, ``configs/spinenet/*.yaml``).
mmdet's ``RetinaHead`` with a ``norm_cfg`` shares the BN too; this subclass keeps everything else
of it (anchors, losses, prediction). Initialisation as ``heads.py``: the stacked convs N(0, 0.01)
with zero bias, both predictors N(0, 1e-5) (mmdet: 0.01), the class bias at the prior 0.01.
"""
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS


@MODELS.register_module()
class RetinaHeadLevelBN(RetinaHead):
    """``RetinaHead`` whose stacked convs are shared across levels and BNs are not."""

    def __init__(self,
                 *args,
                 num_levels: int = 5,
                 norm_cfg=dict(type='BN', momentum=0.01, eps=1e-4),
                 act_cfg=dict(type='ReLU'),
                 init_cfg=dict(
                     type='Normal',
                     layer='Conv2d',
                     std=0.01,
                     override=[
                         dict(type='Normal', name='retina_cls', std=1e-5, bias_prob=0.01),
                         dict(type='Normal', name='retina_reg', std=1e-5)
                     ]),
                 **kwargs):
        self.num_levels = num_levels
        self.head_norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        super().__init__(*args, norm_cfg=None, init_cfg=init_cfg, **kwargs)

    def _init_layers(self):
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.cls_norms = nn.ModuleList()
        self.reg_norms = nn.ModuleList()
        cin = self.in_channels
        for _ in range(self.stacked_convs):
            self.cls_convs.append(nn.Conv2d(cin, self.feat_channels, 3, padding=1))
            self.reg_convs.append(nn.Conv2d(cin, self.feat_channels, 3, padding=1))
            self.cls_norms.append(
                nn.ModuleList([
                    build_norm_layer(self.head_norm_cfg, self.feat_channels)[1]
                    for _ in range(self.num_levels)
                ]))
            self.reg_norms.append(
                nn.ModuleList([
                    build_norm_layer(self.head_norm_cfg, self.feat_channels)[1]
                    for _ in range(self.num_levels)
                ]))
            cin = self.feat_channels
        self.act = build_activation_layer(dict(self.act_cfg))
        self.retina_cls = nn.Conv2d(cin, self.num_base_priors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = nn.Conv2d(
            cin, self.num_base_priors * self.bbox_coder.encode_size, 3, padding=1)

    def forward_single_level(self, x, level: int):
        cls_feat, reg_feat = x, x
        for conv, norms in zip(self.cls_convs, self.cls_norms):
            cls_feat = self.act(norms[level](conv(cls_feat)))
        for conv, norms in zip(self.reg_convs, self.reg_norms):
            reg_feat = self.act(norms[level](conv(reg_feat)))
        return self.retina_cls(cls_feat), self.retina_reg(reg_feat)

    def forward(self, x):
        assert len(x) == self.num_levels, f'expected {self.num_levels} levels, got {len(x)}'
        outs = [self.forward_single_level(f, i) for i, f in enumerate(x)]
        return [o[0] for o in outs], [o[1] for o in outs]
