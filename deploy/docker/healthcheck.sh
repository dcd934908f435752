#!/bin/bash
# The image's HEALTHCHECK without curl in the image: one HTTP/1.0 GET over bash's /dev/tcp
# to $TOLLGATE_HEALTH_URL (http://host:port/path), healthy on a 200 status line.
set -euo pipefail
url="${TOLLGATE_HEALTH_URL:-http://127.0.0.1:4000/health/liveliness}"
rest="${url#http://}"
hostport="${rest%%/*}"
path="/${rest#*/}"
[ "$path" = "/$rest" ] && path="/"
host="${hostport%%:*}"
port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=80
exec 3<>"/dev/tcp/$host/$port"
printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
IFS= read -r -t 3 status <&3
case "$status" in
  "HTTP/1."?" 200"*) exit 0 ;;
  *) echo "unhealthy: ${status:-no answer}" >&2; exit 1 ;;
esac
