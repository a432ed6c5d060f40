#!/usr/bin/env bash
# Run web.py's own test suite (from the sdist of the installed web.py) three times: plain,
# with flaskscope's hooks installed process-wide, and in line mode. The outcome of every
# test must be identical, the recorded runs must record requests (web.py's tests send them
# through `app.request()`), and the recorder must report no error of its own.
# Usage: scripts/webpy_suite.sh [PYTHON] (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-.venv/bin/python}
[[ "$python" == */* && "$python" != /* ]] && python="$(pwd)/$python"
root=$(pwd)
version=$("$python" -c 'from importlib.metadata import version; print(version("web.py"))')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download -q --no-deps --no-binary :all: "web.py==$version" -d "$work" 2>/dev/null
sdist=$(ls "$work"/web[._]py-"$version".tar.gz)
tar xzf "$sdist" -C "$work"
cd "$(basename "$sdist" .tar.gz | sed "s|^|$work/|")"
outcomes() {  # the sorted outcome line of every test
    "$python" -m pytest tests -q -rA -p no:cacheprovider -o addopts="" \
        -W "ignore::DeprecationWarning" "$@" 2>&1 | tee "$work/last.txt" |
        grep -E '^(PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS) tests/' | sort || true
}
outcomes > "$work/plain.txt"
if [ ! -s "$work/plain.txt" ]; then
    echo "web.py $version suite did not run:"; tail -5 "$work/last.txt"; exit 1
fi
status=0
for mode in hooks lines; do
    lines=""; [ "$mode" = lines ] && lines=1
    FLASKSCOPE_LINES=$lines PYTHONPATH="$root/scripts" \
        outcomes -p flaskscope_everywhere > "$work/$mode.txt"
    recorded=$(grep -o 'flaskscope recorded.*' "$work/last.txt" || echo "flaskscope did not run")
    if ! grep -q 'flaskscope recorded [1-9][0-9]* requests; recorder errors: 0$' "$work/last.txt"; then
        echo "web.py $version suite, flaskscope $mode: expected requests recorded, no recorder error ($recorded)"
        status=1
    fi
    if diff -u "$work/plain.txt" "$work/$mode.txt" > "$work/diff.txt"; then
        echo "web.py $version suite, flaskscope $mode: $(wc -l < "$work/plain.txt") tests, identical outcomes ($recorded)"
    else
        echo "web.py $version suite, flaskscope $mode: outcomes DIFFER ($recorded)"
        cat "$work/diff.txt"
        status=1
    fi
done
exit $status
