#!/usr/bin/env bash
# Entry point of the migration image: applies the committed Prisma migrations to DATABASE_URL
# (injected by ECS from Secrets Manager) and reports what it applied. Any failure exits non-zero,
# which the state machine turns into a failed execution.
set -euo pipefail

cd "$(dirname "$0")/app"

if [[ -z "${DATABASE_URL:-}" ]]; then
  echo "migrate.sh: DATABASE_URL is not set; the task definition injects it from the database secret" >&2
  exit 2
fi

prisma=./node_modules/.bin/prisma
deploy_log=$(mktemp)
trap 'rm -f "$deploy_log"' EXIT

committed=$(find prisma/migrations -mindepth 1 -maxdepth 1 -type d | wc -l)
echo "migrate.sh: ${committed} committed migrations; running prisma migrate deploy"

# Prisma prints the database host and name, never the credentials of the URL.
if ! "$prisma" migrate deploy 2>&1 | tee "$deploy_log"; then
  echo "migrate.sh: prisma migrate deploy failed; the migrations after the failing one were not applied" >&2
  exit 1
fi

# deploy lists each migration it applied as a directory name (<14-digit timestamp>_<name>).
applied=$(grep -oE '[0-9]{14}_[A-Za-z0-9_]+' "$deploy_log" | sort -u || true)
if [[ -n "$applied" ]]; then
  echo "migrate.sh: applied migrations:"
  sed 's/^/  /' <<<"$applied"
else
  echo "migrate.sh: applied migrations: none (the database was already up to date)"
fi
