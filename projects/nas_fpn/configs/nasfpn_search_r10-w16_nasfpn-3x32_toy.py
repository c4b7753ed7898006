# NAS-FPN controller search on the toy set (tests and demo.sh): the paper's proxy task
# (Sec. 3.2: ResNet-10, reduced input, short schedule, pyramid repeated 3 times, reward = AP on
# held-out training images) shrunk for a CPU: ResNet-10 at width 16 from scratch, 160 px,
# NAS-FPN 3@32, `proxy.max_iters` iterations per candidate, reward = bbox mAP on the toy
# `search` split (held out of train; the reported `val` split is never used by the search).
# Writes work_dir/{search_history.jsonl, search_state.pth, best_genotype.yaml, search_progress.png};
# a killed search continues with the same command plus --resume.
_base_ = ['./retinanet_r18-w16_nasfpn-3x64_1xb8-12e_toy.py']
model = dict(
    backbone=dict(type='ProxyResNet', depth=10),
    neck=dict(in_channels=[32, 64, 128], out_channels=32, stack_times=3),
    bbox_head=dict(in_channels=32, feat_channels=32))
train_cfg = dict(
    _delete_=True,
    type='NASFPNSearchLoop',
    objective=dict(
        type='NASFPNProxyObjective',
        # 5 toy epochs (~55 s per candidate on one CPU core), the shortest tried that ranks: after
        # 20 iterations every candidate scored 0.2-0.3 AP (noise); three candidates (seed 0)
        # scored 1.6-2.0 after 120 and 3.2, 3.5, 5.4 after 200
        # (tests/nas_fpn/test_toy_end_to_end.py asserts the spread)
        max_iters=200,
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
            clip_grad=dict(max_norm=10, norm_type=2)),
        warmup_iters=10,
        lr_decay_at=0.8,
        cost_input=(160, 160),
        log_interval=10),
    num_steps=2,
    samples_per_step=2,
    score_key='coco/bbox_mAP',
    num_cells=7,
    intermediate_levels=(4, 5, 6, 7),
    controller=dict(hidden_size=64),
    ppo=dict(lr=5e-3, clip=0.2, epochs=4, entropy_weight=0.05, baseline_decay=0.9),
    seed=0)
# the search reports on its held-out split only
val_cfg = None
val_dataloader = None
val_evaluator = None
param_scheduler = None
