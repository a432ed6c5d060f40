#!/usr/bin/env bash
# Print the path of a working python3.X (argument: 3.X), or nothing.
# pyenv's shims exist for every installed version but fail unless that version is selected,
# so each candidate is run once before it is trusted.
version=$1
for candidate in "$(command -v "python$version" 2>/dev/null)" \
                 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version"*/bin/"python$version"; do
    if [ -x "$candidate" ] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
        echo "$candidate"
        exit 0
    fi
done
