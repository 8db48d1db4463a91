#!/usr/bin/env bash
# Prints the path of a Python interpreter of one of the given minor versions.
#   scripts/find_python.sh 3.10            -> the bot's interpreter (Rasa 3.6)
#   scripts/find_python.sh 3.11 3.12 3.13  -> the handoff service's interpreter
# TANDEM_PYTHON_<major>_<minor> (e.g. TANDEM_PYTHON_3_10=/opt/py310/bin/python3)
# points at one explicitly. Exits 1 with an explanation when none is found.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 VERSION [VERSION ...]" >&2
  exit 2
fi

is_version() {
  "$1" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$2' else 1)" \
    >/dev/null 2>&1
}

pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for version in "$@"; do
  override_var="TANDEM_PYTHON_${version/./_}"
  candidates=("${!override_var:-}" "python$version")
  for dir in "$pyenv_root"/versions/"$version".*/bin; do
    candidates+=("$dir/python$version")
  done
  candidates+=("/usr/local/bin/python$version" "/usr/bin/python$version" "python3")
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] || continue
    path=$(command -v "$candidate" 2>/dev/null) || continue
    if is_version "$path" "$version"; then
      echo "$path"
      exit 0
    fi
  done
done

cat >&2 <<MSG
No Python $* interpreter found.
Tandem needs Python 3.10 for the bot (Rasa 3.6 supports 3.8-3.10 only) and
Python 3.11 or newer for the handoff service. Install the missing one (for example
'pyenv install 3.10.13' or your system's python3.10 package), or point at it with
TANDEM_PYTHON_${1/./_}=/path/to/python$1.
MSG
exit 1
