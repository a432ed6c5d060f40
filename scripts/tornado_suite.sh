#!/usr/bin/env bash
# Run Tornado's own web and routing tests (tornado.test.web_test and routing_test, shipped
# in the installed tornado package; TORNADO_TESTS names others) three times: plain, and with flaskscope's recording installed process-wide
# (scripts/tornado_everywhere.py) in hook mode, then in line mode. Every test's outcome, and every other line the runner
# prints, must be identical: recording never changes what an app does, nor adds a log line.
# Prints the counts: tests, requests recorded, recorder errors, requests left open.
# Usage: scripts/tornado_suite.sh [PYTHON] (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-.venv/bin/python}
[[ "$python" == */* && "$python" != /* ]] && python="$(pwd)/$python"
root=$(pwd)
modules=${TORNADO_TESTS:-tornado.test.web_test tornado.test.routing_test}
version=$("$python" -c 'import tornado; print(tornado.version)')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"  # neither run imports the checkout's own modules by accident
run() {  # $1: name; the rest: the command. Keeps all output, then splits it.
    local name=$1; shift
    # shellcheck disable=SC2086  # one word per test module
    "$@" --verbose $modules > "$work/$name.all" 2>&1 || true
    grep -E ' \.\.\. ' "$work/$name.all" | sort > "$work/$name.outcomes" || true
    # Everything else but timings and flaskscope's own closing lines.
    grep -vE ' \.\.\. |^Ran [0-9]+ tests? in |^flaskscope ' "$work/$name.all" \
        | sed -E 's/[0-9]+\.[0-9]+s/Ns/g' > "$work/$name.other" || true
}
run plain "$python" -m tornado.test.runtests
tests=$(wc -l < "$work/plain.outcomes")
if [ "$tests" -eq 0 ]; then
    echo "Tornado $version $modules did not run:"; tail -5 "$work/plain.all"; exit 1
fi
status=0
for mode in hooks lines; do
    lines=""; [ "$mode" = lines ] && lines=1
    run "$mode" env FLASKSCOPE_LINES=$lines PYTHONPATH="$root:$root/scripts" \
        "$python" "$root/scripts/tornado_everywhere.py"
    recorded=$(grep -o '^flaskscope recorded.*' "$work/$mode.all" || echo "flaskscope did not run")
    grep '^flaskscope recorder error: ' "$work/$mode.all" || true
    if diff -u "$work/plain.outcomes" "$work/$mode.outcomes" > "$work/diff.txt" \
            && diff -u "$work/plain.other" "$work/$mode.other" >> "$work/diff.txt"; then
        echo "Tornado $version $modules, flaskscope $mode: $tests tests, identical outcomes and output ($recorded)"
    else
        echo "Tornado $version $modules, flaskscope $mode: outcomes or output DIFFER ($recorded)"
        cat "$work/diff.txt"
        status=1
    fi
    case "$recorded" in
        *"recorder errors: 0; requests left open: 0") ;;
        *) status=1 ;;
    esac
done
exit $status
