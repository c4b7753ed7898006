# NAS-FCOS search on the toy set (CPU minutes; tests and demo.sh), phase 2: head ops and share
# level on the decoder found by phase 1 (nas-fcos_search-decoder_r18-w16_fcos-head_toy.py, which
# inherits these settings). The paper's fast proxy shrunk for a CPU: the frozen backbone (the toy
# ResNet-18 w16; its weights stand in for ImageNet's: demo.sh trains it first as the suite's toy
# RetinaNet baseline and passes the checkpoint) runs once over the train and search splits and
# its C2-C5 features are stored (`feature_dir`, shared by both phases); each proposal trains the
# decoder and head on the stored train features for `max_iters` iterations; reward =
# -(loss_cls + loss_bbox + loss_centerness) on the stored `search` split (held out of train).
#   mim train mmdet projects/nas_fcos/configs/nas-fcos_search-head_r18-w16_toy.py \
#       --work-dir work_dirs/nas_fcos_search_head_toy --cfg-options \
#       train_cfg.decoder=work_dirs/nas_fcos_search_decoder_toy/best_genotype.yaml \
#       train_cfg.objective.backbone_init.checkpoint=<toy baseline work_dir>/epoch_12.pth
# Its best_genotype.yaml (decoder + head + share level) drops into the toy retrain config. A
# killed search continues with the same command plus --resume.
_base_ = ['./nas-fcos_r18-w16_nas-fcos-fpn-64_nas-fcos-head_1xb8-12e_toy.py']
train_cfg = dict(
    _delete_=True,
    type='NASFCOSSearchLoop',
    phase='head',
    decoder='work_dirs/nas_fcos_search_decoder_toy/best_genotype.yaml',
    objective=dict(
        type='NASFCOSProxyObjective',
        feature_dir='work_dirs/nas_fcos_toy_features',
        # the toy "ImageNet" backbone: the suite's toy RetinaNet baseline (demo.sh trains it)
        backbone_init=dict(
            type='Pretrained',
            checkpoint='work_dirs/retinanet_r18-w16_fpn_1xb8-12e_toy/epoch_12.pth',
            prefix='backbone.'),
        max_iters=40,
        batch_size=8,
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
            clip_grad=dict(max_norm=10, norm_type=2)),
        warmup_iters=10,
        log_interval=20,
        max_gb=1.),
    num_steps=2,
    samples_per_step=2,
    score_key='proxy/neg_loss',
    # nas-segm-pytorch's defaults (README, "Deviations"); = NASFCOSController / PPO defaults
    controller=dict(hidden_size=100, num_layers=2),
    ppo=dict(lr=1e-4, clip=0.1, epochs=1, entropy_weight=0.0, baseline_decay=0.95, grad_clip=2.0),
    seed=0)
# the search reports on its held-out split only
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
param_scheduler = None
