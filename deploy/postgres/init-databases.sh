#!/usr/bin/env bash
# One database and one owner per service (run once by the postgres image on first start).
set -euo pipefail
for service in agreements programs identity; do
  password_var="POSTGRES_${service^^}_PASSWORD"
  password="${!password_var:?set $password_var}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE ${service} LOGIN PASSWORD '${password}';
CREATE DATABASE ${service} OWNER ${service};
SQL
done
