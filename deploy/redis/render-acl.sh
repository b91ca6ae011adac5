#!/bin/sh
# Usage: render-acl.sh TEMPLATE OUTPUT
# Writes the Redis ACL file from TEMPLATE: comment and blank lines are dropped and each {{VAR}}
# becomes the SHA-256 of the environment variable VAR, so no password reaches the disk.
# Refuses an unset or empty variable, and the .env.example placeholder "change-me".
set -eu
template=$1
output=$2
umask 077
tmp="$output.tmp"
grep -v -e '^#' -e '^[[:space:]]*$' "$template" >"$tmp"
for name in $(grep -o '{{[A-Z0-9_]*}}' "$tmp" | tr -d '{}' | sort -u); do
  value=$(printenv "$name" || true)
  if [ -z "$value" ] || [ "$value" = "change-me" ]; then
    echo "render-acl: set $name (a random password, not the example value)" >&2
    rm -f "$tmp"
    exit 1
  fi
  hash=$(printf '%s' "$value" | sha256sum | cut -d ' ' -f 1)
  sed -i "s/{{$name}}/$hash/g" "$tmp"
done
mv "$tmp" "$output"
