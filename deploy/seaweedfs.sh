#!/bin/sh
# SeaweedFS for docker-compose.yml: its master, volume server, filer and S3 gateway in one process, the data
# in /data. The S3 gateway knows one identity, S3_ACCESS_KEY with S3_SECRET_KEY, allowed everything; a request
# not signed with it is refused.
set -eu

: "${S3_ACCESS_KEY:?set S3_ACCESS_KEY}"
: "${S3_SECRET_KEY:?set S3_SECRET_KEY}"
case "$S3_ACCESS_KEY$S3_SECRET_KEY" in
  *[!A-Za-z0-9+/=._-]*)
    echo "S3_ACCESS_KEY and S3_SECRET_KEY: letters, digits and + / = . _ - only" >&2
    exit 1 ;;
esac

umask 077
identities="${S3_IDENTITIES_FILE:-/tmp/s3-identities.json}"
cat > "$identities" <<EOF
{
  "identities": [
    {
      "name": "myodiary",
      "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
EOF

exec weed server -dir=/data -ip.bind=0.0.0.0 -volume.max=0 \
  -s3 -s3.port=8333 -s3.config="$identities"
