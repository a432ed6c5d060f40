#!/usr/bin/env bash
# Run Flask's own test suite (from the sdist of the installed Flask) three times: plain,
# with flaskscope's hooks installed process-wide, and in line mode. The outcome of every
# test must be identical. In both recorded runs the oracle (tests/oracle) watches every
# request and checks every recorded one: its disagreements must be the known ones
# (tests/oracle/flask_suite_known.tsv). Usage: scripts/flask_suite.sh [PYTHON]
# (default .venv/bin/python)
source "$(dirname "$0")/sdist_suite.sh"
version=$(installed_version flask)
cd "$(unpack_sdist flask "$version")"
pytest_outcomes > "$work/plain.txt"
if [ ! -s "$work/plain.txt" ]; then
    echo "Flask $version suite did not run:"; tail -5 "$work/last.txt"; exit 1
fi
status=0
for mode in hooks lines; do
    lines=""; [ "$mode" = lines ] && lines=1
    FLASKSCOPE_LINES=$lines FLASKSCOPE_ORACLE=1 PYTHONPATH="$root/scripts" \
        pytest_outcomes -p flaskscope_everywhere > "$work/$mode.txt"
    recorded=$(grep -o 'flaskscope recorded.*' "$work/last.txt" || echo "flaskscope did not run")
    oracle=$(grep '^oracle: ' "$work/last.txt" || echo "oracle: did not run")
    echo "Flask $version suite, flaskscope $mode, $oracle"
    if grep -q '^oracle: .* 0 new, 0 known that now agree)$' "$work/last.txt"; then :; else
        grep '^oracle new: \|^oracle agrees now' "$work/last.txt" || true
        status=1
    fi
    if diff -u "$work/plain.txt" "$work/$mode.txt" > "$work/diff.txt"; then
        echo "Flask $version suite, flaskscope $mode: $(wc -l < "$work/plain.txt") tests, identical outcomes ($recorded)"
    else
        echo "Flask $version suite, flaskscope $mode: outcomes DIFFER ($recorded)"
        cat "$work/diff.txt"
        status=1
    fi
done
exit $status
