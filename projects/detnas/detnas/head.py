"""The DetNAS ImageNet head: what follows the last stage of the backbone on ImageNet.

Structure (megvii-model/DetNAS ``Supernet-ImageNet/detnasnet.py``; paper Sec. 3.2): a last 1x1
conv-BN-ReLU to ``stage_out_channels[-1]`` (conv with bias), dropout 0.2, global average pooling
and a 1000-way FC. Used by the ImageNet classifiers (:mod:`.imagenet.classifier`,
:class:`.backbone.DetNASClassifier`) and counted by the FLOPs table (:mod:`.flops`).
"""
import torch.nn as nn


class DetNASImageNetHead(nn.Module):
    """The paper's ImageNet head: 1x1 conv-BN-ReLU to ``last`` channels (conv with bias),
    channel dropout (Dropout2d) 0.2, global average pooling, FC (official
    ``Supernet-ImageNet/detnasnet.py``)."""

    def __init__(self, in_channels, last_channels, num_classes=1000, dropout=0.2):
        super().__init__()
        self.last_conv = nn.Sequential(
            nn.Conv2d(in_channels, last_channels, 1, bias=True), nn.BatchNorm2d(last_channels),
            nn.ReLU(inplace=True))
        self.dropout = nn.Dropout2d(dropout)  # channel dropout, as the official head
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(last_channels, num_classes)

    def forward(self, x):
        x = self.pool(self.dropout(self.last_conv(x))).flatten(1)
        return self.fc(x)
