"""NAS-FPN (Ghiasi, Lin, Le, CVPR 2019) as an MMDetection 3.x plugin.

Importing this package registers ``GenotypeNASFPN`` and ``RetinaSepBNHeadTPU`` (mmdet
``MODELS``) and ``NASFPNSearchLoop`` (mmdet ``LOOPS``).
"""
import projects  # noqa: F401  (torch.load allow-list for MMEngine checkpoints)
from .controller import LSTMController, PPOTrainer
from .convert import convert_mmdet_nasfpn_state_dict
from .genotype import (BINARY_OPS, GenotypeError, MergingCellSpec, canonical_cells, dump_genotype,
                       genotype_key, genotype_to_list, load_genotype, validate_genotype)
from .head import RetinaSepBNHeadTPU
from .neck import GenotypeNASFPN
from .objectives import (Evaluation, NASFPNCandidateSampler, NASFPNMatchObjective,
                         NASFPNProxyObjective, neck_cost)
from .proxy_backbone import ProxyResNet
from .search_loop import NASFPNSearchLoop
from .search_records import SearchHistory, SearchRecord
from .search_space import NASFPNSearchSpace

__all__ = [
    'BINARY_OPS', 'GenotypeError', 'MergingCellSpec', 'dump_genotype', 'genotype_key',
    'genotype_to_list', 'load_genotype', 'validate_genotype', 'GenotypeNASFPN',
    'convert_mmdet_nasfpn_state_dict', 'LSTMController', 'PPOTrainer', 'ProxyResNet',
    'NASFPNSearchLoop', 'NASFPNSearchSpace', 'canonical_cells', 'Evaluation',
    'NASFPNCandidateSampler', 'NASFPNMatchObjective', 'NASFPNProxyObjective', 'neck_cost',
    'SearchHistory', 'SearchRecord', 'RetinaSepBNHeadTPU'
]
