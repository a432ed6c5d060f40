#!/usr/bin/env bash
# Run a sample of Django's own test suite (from the sdist of the installed Django) three
# times: plain, with flaskscope's hooks installed process-wide (scripts/django_everywhere.py),
# and in line mode.
# The outcome of every test must be identical, and each response the test client got must
# agree with the request recorded for it (status, route, URL name); the counts (tests,
# requests recorded, recorder errors, oracle disagreements) are printed. Usage: scripts/django_suite.sh [PYTHON] (default
# .venv/bin/python); DJANGO_SUITE_LABELS overrides the test labels.
source "$(dirname "$0")/sdist_suite.sh"
labels=${DJANGO_SUITE_LABELS:-"view_tests urlpatterns_reverse middleware generic_views decorators"}
version=$(installed_version django)
cd "$(unpack_sdist django "$version")/tests"
outcomes() {  # the sorted outcome line of every test
    # shellcheck disable=SC2086
    "$python" -W ignore "$@" --parallel=1 -v 2 $labels > "$work/last.txt" 2>&1 || true
    grep -E ' \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$' \
        "$work/last.txt" | sort || true
}
outcomes runtests.py > "$work/plain.txt"
if [ ! -s "$work/plain.txt" ]; then
    echo "Django $version suite did not run:"; tail -5 "$work/last.txt"; exit 1
fi
status=0
for mode in hooks lines; do
    lines=""; [ "$mode" = lines ] && lines=1
    FLASKSCOPE_LINES=$lines outcomes "$root/scripts/django_everywhere.py" > "$work/$mode.txt"
    recorded=$(grep -o 'flaskscope recorded.*' "$work/last.txt" || echo "flaskscope did not run")
    oracle=$(grep '^oracle: ' "$work/last.txt" || echo "oracle: did not run")
    grep '^flaskscope recorder error: ' "$work/last.txt" | sort | uniq -c | head -5 || true
    grep '^oracle disagrees: ' "$work/last.txt" || true
    tests=$(wc -l < "$work/plain.txt")
    if diff -u "$work/plain.txt" "$work/$mode.txt" > "$work/diff.txt"; then
        echo "Django $version suite ($labels), flaskscope $mode: $tests tests, identical outcomes ($recorded)"
    else
        echo "Django $version suite ($labels), flaskscope $mode: outcomes DIFFER ($recorded)"
        cat "$work/diff.txt"
        status=1
    fi
    echo "Django $version suite, flaskscope $mode, $oracle"
    grep -q 'recorder errors: 0$' "$work/last.txt" || status=1
    grep -q '^oracle: .*, 0 disagreements$' "$work/last.txt" || status=1
done
exit $status
