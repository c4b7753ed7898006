"""DetNAS (Chen et al., NeurIPS 2019) as an MMDetection 3.x plugin: ShuffleNetV2 supernet,
fixed backbones of the published genotypes, FLOPs lookup table, supernet path hook, evolutionary
search loop with BN recalibration."""
from .backbone import (DetNASClassifier, DetNASShuffleNet, DetNASShuffleNetFixed,
                       slice_supernet_state_dict)
from .blocks import CHOICES, ShuffleChoiceBlock, channel_split_shuffle
from .bn_calibration import calibrate_bn
from .evolution import Evolution
from .flops import FlopsTable, count_module_flops, get_flops_table
from .genotype import (GENOTYPE_DIR, SPACE_1_3G, SPACE_3_8G, SPACE_300M, GenotypeError,
                       dump_genotype, load_genotype, validate_genotype)
from .head import DetNASImageNetHead
from .imagenet import (DetNASCenterCrop, DetNASColorJitter, DetNASImageNetClassifier,
                       DetNASPackClsInputs, DetNASRandomFlip, DetNASRandomResizedCrop,
                       DetNASResizeShorter, ImageNetFolder, TopKAccuracy)
from .objectives import (DetNASCandidateSampler, DetNASMatchObjective, DetNASSupernetObjective,
                         Evaluation)
from .path_hook import DetNASPathHook, find_supernet
from .search_loop import DetNASSearchLoop
from .search_records import SearchHistory, SearchRecord

__all__ = [
    'CHOICES', 'ShuffleChoiceBlock', 'channel_split_shuffle', 'DetNASShuffleNet',
    'DetNASShuffleNetFixed', 'DetNASImageNetHead', 'DetNASClassifier', 'slice_supernet_state_dict',
    'FlopsTable', 'count_module_flops', 'get_flops_table', 'GENOTYPE_DIR', 'SPACE_300M',
    'SPACE_1_3G', 'SPACE_3_8G', 'GenotypeError', 'dump_genotype', 'load_genotype',
    'validate_genotype', 'calibrate_bn', 'Evolution', 'DetNASPathHook', 'find_supernet',
    'DetNASSearchLoop', 'DetNASCandidateSampler', 'DetNASMatchObjective', 'DetNASSupernetObjective',
    'Evaluation', 'SearchHistory', 'SearchRecord', 'ImageNetFolder', 'DetNASRandomResizedCrop',
    'DetNASColorJitter', 'DetNASRandomFlip', 'DetNASResizeShorter', 'DetNASCenterCrop',
    'DetNASPackClsInputs', 'DetNASImageNetClassifier', 'TopKAccuracy'
]
