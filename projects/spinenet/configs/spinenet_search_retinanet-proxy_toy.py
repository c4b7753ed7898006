# The SpineNet search on the toy set (CPU minutes): each step samples candidates from the RNN
# controller, trains each as the toy proxy (./_base_/retinanet_spinenet_toy.py with the sampled
# genotype) on the train split and scores COCO box AP on the held-out `search` split
# (configs/_base_/toy_coco_detection.py), then a REINFORCE update. A killed search continues
# with the same command plus --resume.
# Proxy length: 3 toy epochs (120 iterations, ~36 s per candidate on one CPU core), which ranks
# where 20 did not: 20 iterations scored every candidate 0.0; 120 scored 2.5, 7.0 and 3.0
# (seed 0, three candidates; tests/spinenet/test_toy_cycle.py asserts the spread).
#   mim train mmdet projects/spinenet/configs/spinenet_search_retinanet-proxy_toy.py \
#       --work-dir work_dirs/spinenet_search_toy
_base_ = ['./_base_/retinanet_spinenet_toy.py']
train_cfg = dict(
    type='SpineNetSearchLoop',
    objective=dict(type='SpineNetProxyObjective', epochs=3, warmup_iters=10, log_interval=20),
    num_steps=3,
    samples_per_step=2,
    score_key='coco/bbox_mAP',
    # = the defaults of SpineNetController / Reinforce (tests/spinenet/test_search.py)
    controller=dict(
        hidden_size=35, num_layers=2, lr=6e-4, baseline_decay=0.95, entropy_weight=1e-4),
    seed=0)
# the search reports on `search_dataloader`; the reported split stays untouched
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
param_scheduler = None
