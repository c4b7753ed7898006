"""The suite's text speaks of the project only: no references to a tracker's issue numbers of
this suite and no paths outside the repository, in any tracked or new text file (READMEs,
metafiles, configs, code comments and docstrings, tests, tools). Upstream repositories' issues
are cited as ``official issue #N`` and stay allowed."""
import re
import subprocess

from conftest import REPO

SUFFIXES = ('.py', '.md', '.yml', '.yaml', '.sh', '.cfg', '.txt', '.toml')
FORBIDDEN = {
    'an issue number of this suite': re.compile(r'\bissues? \d', re.IGNORECASE),
    'a path outside the repository': re.compile(r'\.\./(shared|\.library)|/wor[k]/'),
}


def _text_files():
    out = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         check=True).stdout.split()
    names = [n for n in out if n.endswith(SUFFIXES) or n in ('Makefile', '.ci/run')]
    return [REPO / n for n in names if (REPO / n).is_file()]


def test_no_issue_numbers_or_outside_paths_in_the_suites_text():
    files = _text_files()
    assert len(files) > 100  # the listing works
    found = []
    for path in files:
        for i, line in enumerate(path.read_text(errors='replace').splitlines(), 1):
            for what, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    found.append(f'{path.relative_to(REPO)}:{i}: {what}: {line.strip()[:120]}')
    assert not found, '\n'.join(found)


def test_the_patterns_catch_what_they_name():
    issue, up = 'issue', '..'  # split, so that this file passes the check above
    bad = [
        f'see {issue} 13.4', f'{issue.title()}s 29 and 30', f'{up}/shared/papers.md',
        f'{up}/.library'
    ]
    bad.append('/' + 'work/main/x')
    good = ['official issue #11', 'an issue of the official code', 'shared/ folder']
    assert all(any(p.search(t) for p in FORBIDDEN.values()) for t in bad)
    assert not any(p.search(t) for p in FORBIDDEN.values() for t in good)
