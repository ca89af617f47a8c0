#!/usr/bin/env bash
# Print the path of a Python >= 3.13 interpreter for mobu's venv, or say why there is none (exit 1).
# Tried in order: $PYTHON (when set), python3.13 and python3 on PATH, pyenv's 3.13.x versions,
# /usr/bin/python3.13 and /usr/local/bin/python3.13.
set -uo pipefail
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1; }
if [ -n "${PYTHON:-}" ]; then
    if ok "$PYTHON"; then command -v "$PYTHON" || echo "$PYTHON"; exit 0; fi
    echo "mobu needs Python >= 3.13, and PYTHON=$PYTHON is not one" >&2
    exit 1
fi
candidates=(python3.13 python3)
if root=$(pyenv root 2>/dev/null); then
    for dir in $(ls -d "$root"/versions/3.13.* 2>/dev/null | sort -rV); do
        candidates+=("$dir/bin/python3")
    done
fi
candidates+=(/usr/bin/python3.13 /usr/local/bin/python3.13)
for candidate in "${candidates[@]}"; do
    if ok "$candidate"; then command -v "$candidate"; exit 0; fi
done
echo "mobu needs Python >= 3.13: none found (tried python3.13, python3, pyenv 3.13.*); install one or pass PYTHON=/path/to/python3.13" >&2
exit 1
