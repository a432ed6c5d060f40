# Sourced by scripts/{flask,webpy,django}_suite.sh: what running a project's own tests from
# the sdist of its installed version takes. Each sets `python` (absolute), `root` (this
# checkout), `version` and `work` (a folder removed on exit), then calls `unpack_sdist`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=${1:-.venv/bin/python}
[[ "$python" == */* && "$python" != /* ]] && python="$(pwd)/$python"
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

installed_version() {  # DISTRIBUTION: its installed version
    "$python" -c "from importlib.metadata import version; print(version('$1'))"
}

unpack_sdist() {  # DISTRIBUTION VERSION: unpack its sdist in $work and print the folder
    "$python" -m pip download -q --no-deps --no-binary :all: "$1==$2" -d "$work" 2>/dev/null
    local sdist  # named `Flask-2.2.5.tar.gz`, `web_py-0.76.tar.gz`, `django-5.2.tar.gz`...
    sdist=$(ls "$work"/*-"$2".tar.gz)
    tar xzf "$sdist" -C "$work"
    echo "$work/$(basename "$sdist" .tar.gz)"
}

pytest_outcomes() {  # [PYTEST OPTIONS]: the sorted outcome line of every test under tests/
    "$python" -m pytest tests -q -rA -p no:cacheprovider -o addopts="" \
        -W "ignore::DeprecationWarning" "$@" 2>&1 | tee "$work/last.txt" |
        grep -E '^(PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS) tests/' | sort || true
}
