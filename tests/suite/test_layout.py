"""The suite's layout: six projects with README + metafile, installable, lint settings."""
import configparser
import subprocess
import sys
import time

import yaml

from conftest import REPO

PROJECTS = {
    'detnas': 'DetNAS',
    'nas_fpn': 'NAS-FPN',
    'auto_fpn': 'Auto-FPN',
    'nas_fcos': 'NAS-FCOS',
    'spinenet': 'SpineNet',
    'hitdet': 'Hit-Detector'
}


def test_every_project_names_its_paper_and_cites_its_rows():
    for key, paper in PROJECTS.items():
        readme = (REPO / 'projects' / key / 'README.md').read_text()
        assert paper in readme.splitlines()[0] and '@inproceedings' in readme
        meta = yaml.safe_load((REPO / 'projects' / key / 'metafile.yml').read_text())
        assert meta['Collections'][0]['Name'] == paper
        for m in meta['Models']:
            for r in m['Results']:
                assert r['Metrics']['box AP'] > 0 and r['Source'], m['Name']


def test_projects_import_from_anywhere(tmp_path):
    """`pip install -e .` put the repo on the venv's path: no PYTHONPATH needed."""
    res = subprocess.run([sys.executable, '-c', 'import projects, os; print(projects.__file__)'],
                         cwd=tmp_path,
                         capture_output=True,
                         text=True,
                         env={'PATH': '/usr/bin:/bin'})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(REPO / 'projects' / '__init__.py')


def test_setup_cfg_carries_openmmlab_style_settings():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / 'setup.cfg')
    assert {'isort', 'yapf', 'flake8', 'metadata'} <= set(cfg.sections())
    assert cfg['yapf']['based_on_style'] == 'pep8'


def test_second_install_is_a_quick_no_op():

    def install():
        t = time.time()
        res = subprocess.run(['bash', 'tools/install.sh'], cwd=REPO, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout, time.time() - t

    install()  # brings the venv up to date if requirements/ or setup.cfg changed
    out, seconds = install()
    assert 'nothing to do' in out and seconds < 10


def test_model_index_lists_every_project_and_citation_every_paper():
    """model-index.yml (OpenMMLab's index, read by `mim search`) imports each metafile, whose
    configs exist; CITATION.cff is valid YAML with one reference per paper, titled as the
    project README's BibTeX."""
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    assert sorted(index['Import']) == sorted(f'projects/{k}/metafile.yml' for k in PROJECTS)
    for path in index['Import']:
        for m in yaml.safe_load((REPO / path).read_text())['Models']:
            assert m['Config'] is None or (REPO / m['Config']).is_file(), (path, m['Config'])
    cff = yaml.safe_load((REPO / 'CITATION.cff').read_text())
    assert cff['cff-version'] == '1.2.0' and cff['title'] and cff['authors']
    titles = {r['title'] for r in cff['references']}
    for key in PROJECTS:
        readme = (REPO / 'projects' / key / 'README.md').read_text()
        bib_title = readme.split('@inproceedings', 1)[1].split('title', 1)[1].split('{', 1)[1]
        assert bib_title.split('}', 1)[0] in titles, key
