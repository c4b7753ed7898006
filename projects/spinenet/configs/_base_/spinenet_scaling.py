# The SpineNet family as data: one scaled SpineNet-49 per size (paper Sec. 3.4). Backbone numbers
# from tensorflow/tpu models/official/detection/modeling/architecture/spinenet.py SCALING_MAP;
# RetinaNet head width/depth and anchor size from configs/spinenet/spinenet{49S,49,96,143,190}_
# retinanet.yaml (retinanet_head num_filters/num_convs, anchor.anchor_size; defaults 256 x 4 and
# 4.0 from configs/retinanet_config.py / detection_config.py). Paper Sec. 5.1: anchor size 3 for
# SpineNet-96 and smaller, 4 for SpineNet-143 and larger.
# Retrain configs pull one entry with e.g. `backbone={{_base_.spinenet_49S}}`.
spinenet_49S = dict(
    type='SpineNet',
    filter_size_scale=0.65,
    endpoints_num_filters=128,
    resample_alpha=0.5,
    block_repeats=1)
spinenet_49 = dict(
    type='SpineNet',
    filter_size_scale=1.0,
    endpoints_num_filters=256,
    resample_alpha=0.5,
    block_repeats=1)
spinenet_96 = dict(
    type='SpineNet',
    filter_size_scale=1.0,
    endpoints_num_filters=256,
    resample_alpha=0.5,
    block_repeats=2)
spinenet_143 = dict(
    type='SpineNet',
    filter_size_scale=1.0,
    endpoints_num_filters=256,
    resample_alpha=1.0,
    block_repeats=3)
spinenet_190 = dict(
    type='SpineNet',
    filter_size_scale=1.3,
    endpoints_num_filters=512,
    resample_alpha=1.0,
    block_repeats=4)

# RetinaNet head per size (in_channels = endpoints_num_filters).
head_49S = dict(
    in_channels=128, feat_channels=128, stacked_convs=4, anchor_generator=dict(octave_base_scale=3))
head_49 = dict(
    in_channels=256, feat_channels=256, stacked_convs=4, anchor_generator=dict(octave_base_scale=3))
head_96 = dict(
    in_channels=256, feat_channels=256, stacked_convs=4, anchor_generator=dict(octave_base_scale=3))
head_143 = dict(
    in_channels=256, feat_channels=256, stacked_convs=4, anchor_generator=dict(octave_base_scale=4))
head_190 = dict(
    in_channels=512, feat_channels=512, stacked_convs=7, anchor_generator=dict(octave_base_scale=4))
