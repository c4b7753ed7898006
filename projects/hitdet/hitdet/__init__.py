"""Hit-Detector (Guo et al., CVPR 2020) as an MMDetection 3.x plugin.

Importing this package registers ``HitDetBackbone``, ``HitDetNeck`` and ``HitDetBBoxHead`` in
mmdet's ``MODELS`` (and the ImageNet classifier and its data pieces, see :mod:`.imagenet`).
"""
import projects  # noqa: F401  (torch.load allow-list for MMEngine checkpoints)
from .backbone import HitDetBackbone, HitDetBackboneBase
from .flops import count_paper_flops, detector_paper_flops, paper_param_count
from .flops_cost import ExpectedCost, count_gmacs
from .genotype import (RELEASED_GENOTYPE, GenotypeError, HitDetGenotype, dump_genotype,
                       genotype_from_official, genotype_key, genotype_to_dict, load_component,
                       load_genotype, validate_genotype)
from .imagenet import (HitDetImageFolder, HitDetImageNetClassifier, HitDetPackClsInputs,
                       HitDetRandomResizedCrop, HitDetResizeCenterCrop, HitDetTopKAccuracy)
from .mixed_op import MixedOp, arch_parameters, mixed_ops, weight_parameters
from .neck import HitDetNeck, HitDetNeckBase
from .objectives import (Evaluation, HitDetDetectionObjective, HitDetHalfSampler,
                         HitDetSyntheticObjective)
from .ops import (ALIASES, CODE_ONLY_OPS, NOT_ALIASED, OP_POOL, OPS, ConvBlock, ConvBNReLU, MBBlock,
                  SepBlock, build_op, canonical_op_name, parse_op_name)
from .roi_head import HitDetBBoxHead, HitDetBBoxHeadBase
from .search_loop import HitDetSearchLoop, carry_optimizer_state, prune_schedule
from .search_records import SearchHistory, SearchRecord
from .spaces import (COMPONENTS, NUM_POSITIONS, PAPER_BACKBONE_AS_PRINTED, RELEASED_SUBSPACE,
                     SUBSPACES, Position, backbone_positions, head_positions, neck_positions,
                     positions, subspace)
from .supernet import HitDetSuperBackbone, HitDetSuperBBoxHead, HitDetSuperNeck, resolve_candidates

__all__ = [
    'HitDetBackbone', 'HitDetBackboneBase', 'HitDetNeck', 'HitDetNeckBase', 'HitDetBBoxHead',
    'HitDetBBoxHeadBase', 'count_paper_flops', 'detector_paper_flops', 'paper_param_count',
    'RELEASED_GENOTYPE', 'GenotypeError', 'HitDetGenotype', 'dump_genotype',
    'genotype_from_official', 'genotype_key', 'genotype_to_dict', 'load_component', 'load_genotype',
    'validate_genotype', 'HitDetImageFolder', 'HitDetImageNetClassifier', 'HitDetPackClsInputs',
    'HitDetRandomResizedCrop', 'HitDetResizeCenterCrop', 'HitDetTopKAccuracy', 'ALIASES',
    'CODE_ONLY_OPS', 'NOT_ALIASED', 'OP_POOL', 'OPS', 'ConvBlock', 'ConvBNReLU', 'MBBlock',
    'SepBlock', 'build_op', 'canonical_op_name', 'parse_op_name', 'COMPONENTS', 'NUM_POSITIONS',
    'PAPER_BACKBONE_AS_PRINTED', 'RELEASED_SUBSPACE', 'SUBSPACES', 'Position', 'backbone_positions',
    'head_positions', 'neck_positions', 'positions', 'subspace', 'ExpectedCost', 'count_gmacs',
    'MixedOp', 'arch_parameters', 'mixed_ops', 'weight_parameters', 'Evaluation',
    'HitDetDetectionObjective', 'HitDetHalfSampler', 'HitDetSyntheticObjective', 'HitDetSearchLoop',
    'prune_schedule', 'carry_optimizer_state', 'SearchHistory', 'SearchRecord',
    'HitDetSuperBackbone', 'HitDetSuperBBoxHead', 'HitDetSuperNeck', 'resolve_candidates'
]
