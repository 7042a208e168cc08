#!/usr/bin/env bash
# Creates (once) .venv-python/ in the repo root with mrpo-trl + its test deps,
# installed from the machine's configured pip index. Reused when present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-python"
stamp="$venv/.mrpo-trl-installed"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# (re)install when the package changed since the last install (the install is not editable)
if [ ! -f "$stamp" ] || [ -n "$(find "$root/python/pyproject.toml" "$root/python/mrpo_trl" -newer "$stamp" -name '*.py' -o -newer "$stamp" -name '*.toml' | head -1)" ]; then
  "$venv/bin/python" -m pip install -q --retries 0 --timeout 5 "$root/python[test]"
  touch "$stamp"
fi
# The package is installed non-editable; tests import it from python/ via conftest.
