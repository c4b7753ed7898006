# DetNAS step 3 for RetinaNet: the same evolutionary search on the COCO-fine-tuned RetinaNet
# supernet (official configs/retinanet/retinanet_DETNAS_COCO_FPN_300M_search.yaml + the search of
# distributed_arch_search/). See detnas_search_faster-rcnn-300m_coco.py for the settings.
#   mim train mmdet projects/detnas/configs/detnas_search_retinanet-300m_coco.py --launcher pytorch --gpus 8
_base_ = ['./retinanet_detnas-300m-supernet_fpn_syncbn_8xb2-90k_coco.py']
load_from = 'work_dirs/retinanet_detnas-300m-supernet_fpn_syncbn_8xb2-90k_coco/iter_90000.pth'
model = dict(backbone=dict(init_cfg=None))
train_dataloader = dict(batch_size=8)
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
