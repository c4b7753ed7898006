"""ResNet-10, the backbone of NAS-FPN's proxy task.

Paper Sec. 3.2 ("proxy task": ResNet-10 backbone, 512x512 input, 10 epochs, pyramid repeated 3
times); Google Cloud's re-implementation (Vertex NAS ``nasfpn_search_tpu.yaml``) uses
``resnet_depth: 10``. mmdet's ResNet has depths 18..152 only; ResNet-10 is the basic-block
ResNet with one block per stage.
"""
from mmdet.models.backbones.resnet import BasicBlock, ResNet
from mmdet.registry import MODELS


@MODELS.register_module()
class ProxyResNet(ResNet):
    """mmdet ``ResNet`` that also accepts ``depth=10`` (BasicBlock x (1, 1, 1, 1))."""

    arch_settings = {**ResNet.arch_settings, 10: (BasicBlock, (1, 1, 1, 1))}
