# DetNAS step 3: evolutionary search on the COCO-fine-tuned 300M supernet (Faster R-CNN FPN),
# paper settings (megvii-model/DetNAS distributed_arch_search/arch_search_config.py): population
# 50, top 10 parents, 20 mutations (p=0.1), 20 crossovers, 10 random, 20 generations, backbone
# FLOPs <= 300M at 224x224; each candidate: BN reset + 500 training iterations of 8 images, then
# bbox AP on the 5k search split.
#   mim train mmdet projects/detnas/configs/detnas_search_faster-rcnn-300m_coco.py --launcher pytorch --gpus 8
# (ranks score different candidates; add --resume to continue a killed search). Writes
# work_dirs/detnas_search_faster-rcnn-300m_coco/{search_history.jsonl, best_genotype.yaml,
# best_subnet.pth, search_progress.png}.
_base_ = ['./faster-rcnn_detnas-300m-supernet_fpn-4conv1fc_syncbn_8xb2-90k_coco.py']
load_from = 'work_dirs/faster-rcnn_detnas-300m-supernet_fpn-4conv1fc_syncbn_8xb2-90k_coco/iter_90000.pth'
model = dict(backbone=dict(init_cfg=None))
train_dataloader = dict(batch_size=8)  # BN calibration batches (official IMS_PER_BATCH 8)
custom_hooks = []
train_cfg = dict(
    _delete_=True,
    type='DetNASSearchLoop',
    objective=dict(
        type='DetNASSupernetObjective',
        bn_calibration=dict(num_iters=500, cumulative=False),
        search_dataloader={{_base_.search_dataloader}},
        search_evaluator={{_base_.search_evaluator}}),
    num_steps=20,
    population_num=50,
    select_num=10,
    mutation_num=20,
    crossover_num=20,
    mutation_prob=0.1,
    flops_limit=300e6,
    flops_input_size=224,
    score_key='coco/bbox_mAP')
param_scheduler = None
