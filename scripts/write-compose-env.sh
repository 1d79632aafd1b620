#!/usr/bin/env bash
# Sets KEY=VALUE lines in .env, the file docker-compose (v1 and v2) reads by
# itself, so that a plain `docker-compose up -d` or `docker-compose down` in
# this directory acts on the same project and images as `make up`/`make down`.
# `make images` calls it with the project name and the images it built or
# chose. Lines of other keys (your own settings) are kept; .env is not in git.
#
# Usage: write-compose-env.sh KEY=VALUE...
set -euo pipefail
cd "$(dirname "$0")/.."
file=.env
marker="# Written by make images (scripts/write-compose-env.sh); other lines are kept."

keys=()
for kv; do
  case $kv in
    [A-Z_]*=?*) keys+=("${kv%%=*}") ;;
    *) echo "write-compose-env: want KEY=VALUE, got '$kv'" >&2; exit 2 ;;
  esac
done

tmp=$(mktemp "$file.XXXXXX")
trap 'rm -f "$tmp"' EXIT
if [ -f "$file" ]; then
  pattern="^($(IFS='|'; echo "${keys[*]}"))=|^$(printf '%s' "$marker" | sed 's/[][\.*^$()/]/\\&/g')\$"
  grep -v -E "$pattern" "$file" >"$tmp" || true
fi
{ echo "$marker"; printf '%s\n' "$@"; } >>"$tmp"
chmod 644 "$tmp"
mv "$tmp" "$file"
echo "wrote $file: $*"
