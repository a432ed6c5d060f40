#!/usr/bin/env bash
# For every Flask version of scripts/flask_versions.txt and every Python given: an
# environment with that Flask and its Werkzeug (.venv-flask-VERSION for the first Python,
# .venv-flask-VERSION-pyX.Y for the others), the fixture, explain, check, oracle, tracer,
# graph, CLI, viewer and integration tests; with the first Python also Flask's own suite
# of that version, plain and recorded (scripts/flask_suite.sh). A Python a Flask version
# cannot be installed on is reported and skipped. Prints one line per environment; exits 1
# if any failed.
# Usage: scripts/test_versions.sh [PYTHON [PYTHON...]] (default python3)
set -uo pipefail
cd "$(dirname "$0")/.."
pythons=("$@")
[ "${#pythons[@]}" -eq 0 ] && pythons=(python3)
tests=(tests/fixtures tests/explain tests/check tests/oracle tests/tracer tests/graph
       tests/cli tests/frameworks tests/viewer tests/integrations)
# Flask and Werkzeug before 2.3 call what Python 3.12+ deprecates (ast.Str, pkgutil's
# loaders...), and the suite makes every warning an error: here DeprecationWarnings are
# theirs to fix, as is the warning setuptools gives when Flask 2.0 imports pkg_resources.
# flaskscope's own are errors in `make test` and `make test-all`, on every Python with
# the Flask it installs by default.
their_warnings=(-W "ignore::DeprecationWarning" -W "ignore:pkg_resources is deprecated:UserWarning")
status=0
summary=()
for python in "${pythons[@]}"; do
    minor=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || {
        summary+=("$python: not a working Python"); status=1; continue; }
    suffix=""; [ "$python" != "${pythons[0]}" ] && suffix="-py$minor"
    while read -r flask werkzeug extra; do
        [[ -z "$flask" || "$flask" == \#* ]] && continue
        venv=".venv-flask-$flask$suffix"
        label="Flask $flask / Werkzeug $werkzeug / Python $minor"
        if [ ! -f "$venv/.installed" ]; then
            rm -rf "$venv" && mkdir -p "$venv"
            if ! { "$python" -m venv "$venv" && "$venv/bin/python" -m pip install -q --upgrade pip &&
                   "$venv/bin/python" -m pip install -q -e '.[suite]' "flask[async]==$flask" \
                       "werkzeug==$werkzeug" $extra; } > "$venv/install.log" 2>&1; then
                if grep -q "Requires-Python\|requires a different Python" "$venv/install.log"; then
                    summary+=("$label: not installable on this Python, skipped")
                else
                    summary+=("$label: environment could not be made ($venv/install.log)")
                    status=1
                fi
                continue
            fi
            touch "$venv/.installed"
        elif [ -n "$(find tracer -maxdepth 1 -name '_*core*.[ch]' -newer "$venv/.installed")" ]; then
            # rebuild a stale compiled core
            "$venv/bin/python" -m pip install -q --no-deps -e . > "$venv/install.log" 2>&1 &&
                touch "$venv/.installed"
        fi
        echo "== $label"
        result=$("$venv/bin/python" -m pytest -q -p no:cacheprovider "${their_warnings[@]}" \
            "${tests[@]}" 2>&1 |
            tee "$venv/tests.log" | tail -1)
        echo "$result"
        if grep -q ' failed\| error' <<<"$result"; then
            # The summary is what a CI log keeps: name the tests that failed.
            status=1
            result+=" FAILED: $(grep -h '^FAILED \|^ERROR ' "$venv/tests.log" | head -5 |
                cut -c1-200 | paste -sd ' ' -)"
        fi
        line="$label: tests: $result"
        if [ -z "$suffix" ]; then
            suite_status=0
            scripts/flask_suite.sh "$venv/bin/python" > "$venv/flask-suite.log" 2>&1 ||
                suite_status=1
            cat "$venv/flask-suite.log"
            suite=$(grep -o 'flaskscope [a-z]*: [0-9]* tests, [a-zA-Z ]*' "$venv/flask-suite.log" |
                paste -sd ';' -)
            line+="; Flask's suite: $suite"
            if [ "$suite_status" -ne 0 ]; then
                # The summary is what a CI log keeps: say there what failed.
                status=1
                line+="; FAILED: $(grep -h '^oracle new: \|^oracle agrees now\|DIFFER\|did not run' \
                    "$venv/flask-suite.log" | head -5 | paste -sd ' ' -)"
            fi
        fi
        summary+=("$line")
    done < scripts/flask_versions.txt
done
echo
printf '%s\n' "${summary[@]}"
exit $status
