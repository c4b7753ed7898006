"""SpineNet (Du et al., CVPR 2020) as an MMDetection 3.x plugin: backbone, head, search."""
from .controller import Reinforce, SpineNetController
from .genotype import (DEFAULT_GENOTYPE, BlockSpec, GenotypeError, dump_genotype, load_genotype,
                       validate_genotype)
from .head import RetinaHeadLevelBN
from .objectives import (Evaluation, SpineNetCandidateSampler, SpineNetMatchObjective,
                         SpineNetProxyObjective)
from .search_loop import SpineNetSearchLoop
from .search_records import SearchHistory, SearchRecord
from .search_space import SpineNetSearchSpace
from .spinenet import SpineNet
from .tf_init import TFVarianceScalingInit

__all__ = [
    'DEFAULT_GENOTYPE', 'BlockSpec', 'GenotypeError', 'dump_genotype', 'load_genotype',
    'validate_genotype', 'SpineNet', 'RetinaHeadLevelBN', 'SpineNetSearchSpace',
    'SpineNetController', 'Reinforce', 'SpineNetSearchLoop', 'Evaluation',
    'SpineNetCandidateSampler', 'SpineNetMatchObjective', 'SpineNetProxyObjective', 'SearchHistory',
    'SearchRecord', 'TFVarianceScalingInit'
]
