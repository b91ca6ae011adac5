#!/bin/sh
# Entry point of the redis container: write the ACL file from the passwords in the
# environment, then hand over to the image's own entry point (which drops to the redis user).
set -eu
here=$(dirname "$0")
dir=/tmp/sinergi-redis
mkdir -p "$dir"
sh "$here/render-acl.sh" "$here/users.acl.in" "$dir/users.acl"
if [ "$(id -u)" = 0 ]; then
  chown -R redis:redis "$dir"
fi
exec docker-entrypoint.sh redis-server "$@" --aclfile "$dir/users.acl"
