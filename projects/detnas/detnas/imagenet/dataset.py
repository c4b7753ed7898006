"""``ImageNetFolder``: the ImageNet training / validation folders of DetNAS step 1.

The official code reads them with torchvision ``ImageFolder`` (megvii-model/DetNAS
``Supernet-ImageNet/train.py``): ``train/<wnid>/*.JPEG`` / ``val/<wnid>/*.JPEG``, classes = sorted
sub-folder names, label = class index.
"""
import os
import os.path as osp

from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


@DATASETS.register_module()
class ImageNetFolder(BaseDataset):
    """An ImageNet-layout folder (``<data_root>/<data_prefix.img_path>/<class>/<image>``) with
    torchvision ``ImageFolder`` semantics: classes are the sorted sub-folder names, the label is
    the class index, files are listed recursively and sorted.

    Args:
        data_root (str): dataset root, e.g. ``'data/imagenet/'``.
        data_prefix (dict | str): the split folder, ``dict(img_path='train')`` or ``'train'``.
        classes (list[str], optional): fixed class list (label = index in it); folders not in the
            list are ignored, a listed class without a folder is an error. Default: every
            sub-folder, sorted.
        extensions (tuple[str]): file endings taken as images (case-insensitive).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``pipeline``, ``test_mode``,
            ``indices``, ``lazy_init``, ...).
    """

    def __init__(self,
                 data_root='',
                 data_prefix=dict(img_path=''),
                 classes=None,
                 extensions=IMG_EXTENSIONS,
                 **kwargs):
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self._classes = list(classes) if classes is not None else None
        self.extensions = tuple(e.lower() for e in extensions)
        metainfo = kwargs.pop('metainfo', None) or {}
        if self._classes is not None:
            metainfo = dict(metainfo, classes=tuple(self._classes))
        super().__init__(data_root=data_root, data_prefix=data_prefix, metainfo=metainfo, **kwargs)

    def load_data_list(self):
        root = self.data_prefix['img_path']
        if not osp.isdir(root):
            raise FileNotFoundError(f'ImageNetFolder: no folder {root!r} (data_root + '
                                    f'data_prefix); expected <split>/<class>/<image> files')
        folders = sorted(e.name for e in os.scandir(root) if e.is_dir())
        if self._classes is None:
            classes = folders
        else:
            missing = [c for c in self._classes if c not in folders]
            if missing:
                raise FileNotFoundError(f'ImageNetFolder: classes {missing} have no folder in '
                                        f'{root!r}')
            classes = self._classes
        data_list = []
        for label, name in enumerate(classes):
            for dirpath, _, files in sorted(os.walk(osp.join(root, name), followlinks=True)):
                for fname in sorted(files):
                    if fname.lower().endswith(self.extensions):
                        data_list.append(dict(img_path=osp.join(dirpath, fname), gt_label=label))
        if not data_list:
            raise FileNotFoundError(f'ImageNetFolder: no images ({", ".join(self.extensions)}) '
                                    f'in class folders of {root!r}')
        self._metainfo['classes'] = tuple(classes)
        return data_list
