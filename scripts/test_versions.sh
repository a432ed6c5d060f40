#!/usr/bin/env bash
# For every Flask version of scripts/flask_versions.txt: an environment with that Flask and
# its Werkzeug (.venv-flask-VERSION, from python3), the fixture, explain, check, oracle,
# tracer, graph and CLI tests, then Flask's own suite of that version plain and recorded
# (scripts/flask_suite.sh). Prints one line per version; exits 1 if any failed.
# Usage: scripts/test_versions.sh [PYTHON] (default python3)
set -uo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
status=0
summary=()
while read -r flask werkzeug; do
    [[ -z "$flask" || "$flask" == \#* ]] && continue
    venv=".venv-flask-$flask"
    if [ ! -f "$venv/.installed" ]; then
        "$python" -m venv "$venv" && "$venv/bin/python" -m pip install -q --upgrade pip &&
        "$venv/bin/python" -m pip install -q -e '.[suite]' "flask[async]==$flask" \
            "werkzeug==$werkzeug" && touch "$venv/.installed" || {
            summary+=("Flask $flask: environment could not be made"); status=1; continue; }
    fi
    echo "== Flask $flask, Werkzeug $werkzeug"
    tests=$("$venv/bin/python" -m pytest -q -p no:cacheprovider tests/fixtures tests/explain \
        tests/check tests/oracle tests/tracer tests/graph tests/cli tests/frameworks 2>&1 |
        tee "$venv/tests.log" | tail -1)
    echo "$tests"
    grep -q ' failed\| error' <<<"$tests" && status=1
    scripts/flask_suite.sh "$venv/bin/python" > "$venv/flask-suite.log" 2>&1 || status=1
    cat "$venv/flask-suite.log"
    suite=$(grep -o 'flaskscope [a-z]*: [0-9]* tests, [a-z ]*' "$venv/flask-suite.log" |
        paste -sd ';' -)
    summary+=("Flask $flask / Werkzeug $werkzeug: tests: $tests; Flask's suite: $suite")
done < scripts/flask_versions.txt
echo
printf '%s\n' "${summary[@]}"
exit $status
