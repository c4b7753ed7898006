#!/usr/bin/env bash
# One idempotent install of the suite into .venv/ (see README "Set-up").
#   torch 2.13.0 (CPU wheel), mmengine 0.10.7, mmcv 2.1.0 with ops built from source,
#   mmdet 3.3.0, pycocotools, numpy, matplotlib, openmim, and this repo (editable).
# A second run with unchanged requirements/ is a no-op: it compares a stamp and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

stamp_of() { cat requirements/*.txt setup.cfg setup.py tools/install.sh | sha256sum | cut -c1-16; }
STAMP="$VENV/.suite-installed-$(stamp_of)"
if [ -f "$STAMP" ]; then
  say "up to date ($VENV); nothing to do"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
"$VPY" -c 'import sys; assert sys.version_info[:2] >= (3, 9), sys.version' \
  || die "Python >= 3.9 is needed, got $("$VPY" --version)"
PIP=("$VPY" -m pip --disable-pip-version-check)
# pip, minus the noise this machine's pip config and the known gaps below produce.
pip_() {
  "${PIP[@]}" "$@" 2>&1 | { grep -v -E "^WARNING: Location .* is ignored|dependency resolver does \
not currently|^openmim .* requires opendatalab|requires setuptools>=77" || true; }
  return "${PIPESTATUS[0]}"
}

say "step 1/4: torch, numpy and mmcv's build tools (requirements/build.txt)"
pip_ install -q -r requirements/build.txt || die "a pin in requirements/build.txt cannot be met"

if "$VPY" -c 'import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != "2.1.0")' 2>/dev/null; then
  say "step 2/4: mmcv 2.1.0 with ops already installed"
else
  say "step 2/4: mmcv 2.1.0 with its C++ ops, from source (pip's cache makes later installs quick)"
  say "          12-20 minutes on 2 cores the first time; a progress line every 30 s"
  export MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)}
  # --no-build-isolation: mmcv's setup.py imports torch; it builds with setuptools<70, which is
  # swapped in for this step only (torch itself asks for >=77 and gets it back below).
  pip_ install -q 'setuptools==69.5.1' || die "setuptools 69.5.1 (for mmcv's build) cannot be installed"
  log="$VENV/mmcv-build.log"
  build_tmp=$(mktemp -d)
  TMPDIR="$build_tmp" "${PIP[@]}" install --no-build-isolation -v -r requirements/mmcv.txt \
    >"$log" 2>&1 &
  pid=$!
  start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if (( (SECONDS - start) % 30 < 2 )) && kill -0 "$pid" 2>/dev/null; then
      n_obj=$(find "$build_tmp" -name '*.o' 2>/dev/null | wc -l)
      say "          mmcv: $n_obj of 77 C++ files compiled (a CPU build), $(( (SECONDS - start) / 60 )) min"
    fi
  done
  wait "$pid" || { tail -40 "$log"; rm -rf "$build_tmp"; die "mmcv build failed; full log: $log"; }
  rm -rf "$build_tmp"
  grep -E 'Using cached|Created wheel|Successfully installed' "$log" | sed 's/^/          /' || true
  "$VPY" -c 'import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != "2.1.0")' \
    || die "mmcv 2.1.0 with ops did not install (rerun with: MMCV_WITH_OPS=1 $VPY -m pip install --no-build-isolation -v mmcv==2.1.0)"
fi

pip_ install -q -r requirements/build.txt || die "a pin in requirements/build.txt cannot be met"

say "step 3/4: mmengine, mmdet, pycocotools, openmim, matplotlib, test tools"
pip_ install -q -r requirements/runtime.txt -r requirements/mim.txt -r requirements/tests.txt \
  || die "a pin in requirements/runtime.txt, mim.txt or tests.txt cannot be met"
pip_ install -q --no-deps -r requirements/mim-nodeps.txt \
  || die "a pin in requirements/mim-nodeps.txt cannot be met"
# The one known gap is openmim's opendatalab (left out on purpose, see requirements/mim.txt).
conflicts=$("${PIP[@]}" check 2>&1 | grep -v -E '^openmim .* requires opendatalab|^No broken' || true)
[ -z "$conflicts" ] || die "installed packages conflict: $conflicts"

say "step 4/4: this suite, editable"
pip_ install -q --no-build-isolation --no-deps -e . || die "pip install -e . failed"

"$VPY" - <<'PY' || die "the installed stack does not import with the pinned versions"
import mmcv, mmdet, mmengine, numpy, pycocotools, torch
from mmcv.ops import nms  # the compiled ops
want = {'torch': '2.13.0', 'mmcv': '2.1.0', 'mmdet': '3.3.0', 'mmengine': '0.10.7'}
got = {'torch': torch.__version__.split('+')[0], 'mmcv': mmcv.__version__,
       'mmdet': mmdet.__version__, 'mmengine': mmengine.__version__}
bad = {k: (v, got[k]) for k, v in want.items() if got[k] != v}
assert not bad, f'pins not met (want, got): {bad}'
assert numpy.__version__.startswith('2.'), numpy.__version__
print('[install] stack:', ', '.join(f'{k} {v}' for k, v in got.items()),
      f'numpy {numpy.__version__}')
PY
rm -f "$VENV"/.suite-installed-*
touch "$STAMP"
say "done: activate with 'source .venv/bin/activate' or use 'make test' / 'make demo'"
