# COCO 2017 at 800x1333 (INPUT.MIN_SIZE_TRAIN 800, MAX_SIZE_TRAIN 1333, flip 0.5), 4 images per
# GPU (official: 4 GPUs, 16 images), iteration-based sampling.
_base_ = ['mmdet::_base_/datasets/coco_detection.py']
train_dataloader = dict(
    batch_size=4, num_workers=2, sampler=dict(type='InfiniteSampler', shuffle=True))
