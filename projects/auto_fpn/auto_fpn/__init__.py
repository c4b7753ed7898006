"""Auto-FPN (Xu et al., ICCV 2019) as an MMDetection 3.x plugin: a documented reconstruction
(no code was published, and the searched cells are known only from a figure; see
``projects/auto_fpn/README.md``).

Importing this package registers in mmdet's registries the fixed modules ``AutoFusionNeck``
(neck) and ``AutoHeadBBoxHead`` (RoI box head), their supernets ``AutoFusionSuperNeck`` and
``AutoHeadSuperBBoxHead``, the search loop ``AutoFPNSearchLoop``, its objectives
``AutoFPNDetectionObjective`` / ``AutoFPNSyntheticObjective`` and the sampler
``AutoFPNHalfSampler``.
"""
import projects  # noqa: F401  (torch.load allow-list for MMEngine checkpoints)
from .genotype import (COMPONENTS, EXAMPLE_GENOTYPE, NUM_LEVELS, NUM_STEPS, AutoFPNGenotype,
                       CheckpointGenotype, GenotypeError, dump_genotype, genotype_key,
                       genotype_to_dict, load_component, load_genotype, random_genotype,
                       validate_genotype)
from .mixed_op import MixedOp, arch_parameters, mixed_ops, weight_parameters
from .neck import (AutoFusionNeck, AutoFusionNeckBase, FusionEdge, FusionPosition, live_edges,
                   resize_to)
from .objectives import (AutoFPNDetectionObjective, AutoFPNHalfSampler, AutoFPNSyntheticObjective,
                         Evaluation, edge_match)
from .ops import FUSION_OPS, HEAD_OPS, OP_SETS, OPS, ReLUConvBN, SepConv, Zero, build_op
from .resource_cost import ExpectedCost, Resources, count_resources
from .roi_head import AutoHeadBBoxHead, AutoHeadBBoxHeadBase, AutoHeadCell, HeadPosition
from .search_loop import AutoFPNSearchLoop
from .search_records import SearchHistory, SearchRecord
from .supernet import (SUPERNETS, AutoFusionSuperNeck, AutoHeadSuperBBoxHead, export_weights,
                       resolve_candidates)

__all__ = [
    'COMPONENTS', 'EXAMPLE_GENOTYPE', 'NUM_LEVELS', 'NUM_STEPS', 'AutoFPNGenotype',
    'CheckpointGenotype', 'GenotypeError', 'dump_genotype', 'genotype_key', 'genotype_to_dict',
    'load_component', 'load_genotype', 'random_genotype', 'validate_genotype', 'MixedOp',
    'arch_parameters', 'mixed_ops', 'weight_parameters', 'AutoFusionNeck', 'AutoFusionNeckBase',
    'FusionEdge', 'FusionPosition', 'live_edges', 'resize_to', 'AutoFPNDetectionObjective',
    'AutoFPNHalfSampler', 'AutoFPNSyntheticObjective', 'Evaluation', 'edge_match', 'FUSION_OPS',
    'HEAD_OPS', 'OP_SETS', 'OPS', 'ReLUConvBN', 'SepConv', 'Zero', 'build_op', 'ExpectedCost',
    'Resources', 'count_resources', 'AutoHeadBBoxHead', 'AutoHeadBBoxHeadBase', 'AutoHeadCell',
    'HeadPosition', 'AutoFPNSearchLoop', 'SearchHistory', 'SearchRecord', 'SUPERNETS',
    'AutoFusionSuperNeck', 'AutoHeadSuperBBoxHead', 'export_weights', 'resolve_candidates'
]
