#!/usr/bin/env bash
# Regenerate the graph pictures the README shows (docs/img/*.svg) from the seed fixtures.
# Run from anywhere: ./scripts/render_readme_graphs.sh   (needs Graphviz's dot)
# tests/graph/test_graph_readme_pictures.py runs the same `graph` lines and checks that the
# committed pictures still show what the tool draws today.
set -euo pipefail
cd "$(dirname "$0")/.."
FLASKSCOPE="${FLASKSCOPE:-.venv/bin/flaskscope}"
if ! command -v dot >/dev/null 2>&1; then
    echo "render_readme_graphs: needs Graphviz's dot (apt-get install graphviz)" >&2
    exit 2
fi
mkdir -p docs/img
"$FLASKSCOPE" graph fixtures/seed_views.py GET /index --kind calls -o docs/img/calls-seed_views.svg
"$FLASKSCOPE" graph fixtures/seed_views.py GET /index -H 'X-Deny: 1' --kind decorators -o docs/img/decorators-seed_views.svg
"$FLASKSCOPE" graph fixtures/seed_routes.py GET /login --kind routes -o docs/img/routes-seed_routes.svg
