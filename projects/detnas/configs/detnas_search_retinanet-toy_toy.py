# DetNAS step 3 on the toy set (tests, demo.sh): the evolutionary search of the paper at toy
# scale: population 8 (top 3 parents, 3 mutations p=0.1, 3 crossovers, 2 random), 3 generations,
# a backbone-FLOPs limit (224x224) that excludes the heaviest paths, BN reset + 5 cumulative
# calibration batches, fitness = bbox mAP on the toy `search` split (held out of train).
# demo.sh: --cfg-options load_from=WORK/supernet/epoch_16.pth
_base_ = ['./retinanet_detnas-supernet-toy_fpn_1xb8-16e_toy.py']
custom_hooks = []
train_cfg = dict(
    _delete_=True,
    type='DetNASSearchLoop',
    objective=dict(
        type='DetNASSupernetObjective',
        bn_calibration=dict(num_iters=5, cumulative=True),
        search_dataloader={{_base_.search_dataloader}},
        search_evaluator={{_base_.search_evaluator}}),
    num_steps=3,
    population_num=8,
    select_num=3,
    mutation_num=3,
    crossover_num=3,
    mutation_prob=0.1,
    flops_limit=30e6,  # about the median path of the 5-block toy space (23-37M, conv only)
    flops_input_size=224,
    score_key='coco/bbox_mAP')
param_scheduler = None
