#!/usr/bin/env bash
# Python packages for a lent GPU machine that cannot download anything (Python 3.12 with CUDA's NVRTC and
# cuda.bindings, numpy, scipy, jinja2, pytest, matplotlib, pandas and scikit-learn already installed):
# the wheels it lacks are fetched here and carried there.
#
#   here:   bash benchmarks/device_setup.sh fetch tests        # -> .whl-tests/      (with PoCL, for pytest)
#           bash benchmarks/device_setup.sh fetch benchmarks   # -> .whl-benchmarks/ (with NEST, for the ratios)
#   there:  bash benchmarks/device_setup.sh install .whl-tests && export PYTHONPATH=/tmp/site
#
# PoCL and NEST do not fit together under the 64 MiB a call may carry, hence two sets. The folders are kept
# out of git (.git/info/exclude).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON_VERSION=3.12
CORE=(PyNN==0.13.0 neo quantities lazyarray pyopencl pytools platformdirs siphash24 mlxtend)
EXTRA_tests=(pocl-binary-distribution)
EXTRA_benchmarks=(nest-simulator)

fetch() {
    local set=$1 dir=".whl-$1" extra
    case $set in
        tests) extra=("${EXTRA_tests[@]}") ;;
        benchmarks) extra=("${EXTRA_benchmarks[@]}") ;;
        *) echo "device_setup.sh fetch: 'tests' or 'benchmarks', not '$set'" >&2; exit 2 ;;
    esac
    grep -qxF "/$dir/" .git/info/exclude 2>/dev/null || echo "/$dir/" >> .git/info/exclude
    rm -rf "$dir"
    local platforms=()
    for n in 17 24 27 28 31 34 35; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYTHON_VERSION" \
        --implementation cp --platform manylinux2014_x86_64 "${platforms[@]}" -d "$dir" "${CORE[@]}" "${extra[@]}"
    du -sh "$dir"
}

install() {
    local dir=${1:?device_setup.sh install: the wheel folder (.whl-tests or .whl-benchmarks)}
    # One pip run for all: PyNN and pyNN.gpu share the pyNN/ folder, which --target would otherwise replace.
    python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir \
        --target /tmp/site "$dir"/*.whl .
}

case ${1:-} in
    fetch) fetch "${2:-tests}" ;;
    install) install "${2:-}" ;;
    *) echo "usage: device_setup.sh fetch tests|benchmarks  |  device_setup.sh install DIR" >&2; exit 2 ;;
esac
