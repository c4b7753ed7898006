# COCO for DetNAS: the supernet trains on train2017 minus a 5,000-image search split, the search
# scores candidates on that split, results are reported on val2017. Official: 5k images split
# from coco_2014_train + valminusminival (= train2017) as `coco_2014_trainval_val`
# (megvii-model/DetNAS README, configs/*_search.yaml). Make the split once with
#   python tools/make_search_split.py data/coco/annotations/instances_train2017.json \
#       --num-search 5000 --tag detnas
_base_ = ['mmdet::_base_/datasets/coco_detection.py']
data_root = 'data/coco/'  # mmdet's; a {{_base_.data_root}} inside an expression is not resolved
train_dataloader = dict(dataset=dict(ann_file='annotations/instances_train2017_detnas-train.json'))
search_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type={{_base_.dataset_type}},
        data_root=data_root,
        ann_file='annotations/instances_train2017_detnas-search.json',
        data_prefix=dict(img='train2017/'),
        test_mode=True,
        pipeline={{_base_.test_pipeline}},
        backend_args=None))
search_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_train2017_detnas-search.json',
    metric='bbox',
    format_only=False,
    backend_args=None)
