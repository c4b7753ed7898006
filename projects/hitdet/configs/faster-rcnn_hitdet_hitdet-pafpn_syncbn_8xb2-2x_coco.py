# Hit-Detector, 2x schedule (paper Table 3: 44.5 box AP on COCO test-dev, 800/1200, 2x, flip-only
# augmentation): the 1x config with 24 epochs and steps at 16 and 22 (mmdet's 2x; the official
# repository ships only the 1x config). test-dev AP needs a submission to the COCO server:
#   mim test mmdet <this config> --checkpoint work_dirs/<this config>/epoch_24.pth \
#       --cfg-options test_dataloader.dataset.ann_file=annotations/image_info_test-dev2017.json \
#       test_dataloader.dataset.data_prefix.img=test2017/ test_evaluator.format_only=True \
#       test_evaluator.ann_file=data/coco/annotations/image_info_test-dev2017.json \
#       test_evaluator.outfile_prefix=work_dirs/hitdet_2x_test-dev
_base_ = ['./faster-rcnn_hitdet_hitdet-pafpn_syncbn_8xb2-1x_coco.py']
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=800),
    dict(
        type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[16, 22], gamma=0.1)
]
