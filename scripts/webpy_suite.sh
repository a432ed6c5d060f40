#!/usr/bin/env bash
# Run web.py's own test suite (from the sdist of the installed web.py) three times: plain,
# with flaskscope's hooks installed process-wide, and in line mode. The outcome of every
# test must be identical, the recorded runs must record requests (web.py's tests send them
# through `app.request()`), and the recorder must report no error of its own.
# Usage: scripts/webpy_suite.sh [PYTHON] (default .venv/bin/python)
source "$(dirname "$0")/sdist_suite.sh"
version=$(installed_version web.py)
cd "$(unpack_sdist web.py "$version")"
pytest_outcomes > "$work/plain.txt"
if [ ! -s "$work/plain.txt" ]; then
    echo "web.py $version suite did not run:"; tail -5 "$work/last.txt"; exit 1
fi
status=0
for mode in hooks lines; do
    lines=""; [ "$mode" = lines ] && lines=1
    FLASKSCOPE_LINES=$lines PYTHONPATH="$root/scripts" \
        pytest_outcomes -p flaskscope_everywhere > "$work/$mode.txt"
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
