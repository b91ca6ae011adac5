#!/usr/bin/env bash
# One database and one owner per service (run once by the postgres image on first start):
# every POSTGRES_<SERVICE>_PASSWORD in the environment gives a role and a database <service>.
set -euo pipefail
for password_var in $(compgen -e | grep -E '^POSTGRES_[A-Z]+_PASSWORD$' | sort); do
  service="${password_var#POSTGRES_}"
  service="${service%_PASSWORD}"
  service="${service,,}"
  password="${!password_var:?set $password_var}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v name="$service" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
SQL
done
