"""NAS-FCOS (Wang et al., CVPR 2020) as an MMDetection 3.x plugin.

Importing this package registers ``NASFCOSDecoder`` (neck) and ``NASFCOSGenotypeHead`` (head)
in mmdet's ``MODELS``, the search objectives in ``TASK_UTILS`` and ``NASFCOSSearchLoop`` in
``LOOPS``.
"""
import projects  # noqa: F401  (torch.load allow-list for MMEngine checkpoints)
from .controller import PPO, NASFCOSController
from .decoder import NASFCOSDecoder, convert_mmdet_neck_state_dict
from .features import FeatureStore, StoredSplit
from .genotype import (AGG_OPS, BACKBONE_LEVELS, FPN_OPS, HEAD_OPS, NUM_CELLS, NUM_HEAD_LAYERS,
                       PUBLISHED_GENOTYPE, DecodedDecoder, DecoderCell, GenotypeError,
                       NASFCOSGenotype, canonical_genotype, collected_nodes, decode_genotype,
                       dump_genotype, genotype_from_official, genotype_key, genotype_to_dict,
                       load_genotype, validate_genotype)
from .head import NASFCOSGenotypeHead, convert_mmdet_head_state_dict
from .objectives import (Evaluation, NASFCOSInOrderSampler, NASFCOSMatchObjective,
                         NASFCOSProxyObjective)
from .search_loop import NASFCOSSearchLoop
from .search_records import SearchHistory, SearchRecord
from .search_space import NASFCOSSearchSpace

__all__ = [
    'AGG_OPS', 'BACKBONE_LEVELS', 'FPN_OPS', 'HEAD_OPS', 'NUM_CELLS', 'NUM_HEAD_LAYERS',
    'PUBLISHED_GENOTYPE', 'DecodedDecoder', 'DecoderCell', 'GenotypeError', 'NASFCOSGenotype',
    'canonical_genotype', 'collected_nodes', 'decode_genotype', 'dump_genotype',
    'genotype_from_official', 'genotype_key', 'genotype_to_dict', 'load_genotype',
    'validate_genotype', 'NASFCOSDecoder', 'convert_mmdet_neck_state_dict', 'NASFCOSGenotypeHead',
    'convert_mmdet_head_state_dict', 'PPO', 'NASFCOSController', 'FeatureStore', 'StoredSplit',
    'Evaluation', 'NASFCOSInOrderSampler', 'NASFCOSMatchObjective', 'NASFCOSProxyObjective',
    'NASFCOSSearchLoop', 'SearchHistory', 'SearchRecord', 'NASFCOSSearchSpace'
]
