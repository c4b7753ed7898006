"""Map the weights of mmdet's hard-coded ``NASFPN`` onto :class:`GenotypeNASFPN`.

With the published genotype (``genotypes/nasfpn_7cell.yaml``) and mmdet's conventions, mmdet's
cells ``gp_64_4, sum_44_4, sum_43_3, sum_34_4, sum_55_5, sum_77_7, gp_75_6`` are, in this order,
the post-merge convs of merging cells 0..6 (mmdet/models/necks/nas_fpn.py; ``gp_43_5`` and
``gp_54_7`` have no weights). This lets mmdet's released checkpoint load into our neck.
"""
import re

MMDET_CELL_ORDER = ('gp_64_4', 'sum_44_4', 'sum_43_3', 'sum_34_4', 'sum_55_5', 'sum_77_7',
                    'gp_75_6')
_PATTERN = re.compile(r'fpn_stages\.(\d+)\.(\w+?)\.out_conv\.')


def convert_mmdet_nasfpn_state_dict(state_dict):
    """A copy of ``state_dict`` (detector or neck) with mmdet NASFPN keys renamed to ours."""
    out = type(state_dict)()
    for key, value in state_dict.items():
        m = _PATTERN.search(key)
        if m:
            idx = MMDET_CELL_ORDER.index(m.group(2))
            key = key[:m.start()] + f'stages.{m.group(1)}.{idx}.' + key[m.end():]
        out[key] = value
    return out
