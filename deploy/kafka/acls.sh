#!/usr/bin/env bash
# Create the SCRAM principals and ACLs civicgrid needs on Apache Kafka.
# Usage: BOOTSTRAP=kafka-1:9092 ADMIN_CONFIG=admin.properties ./acls.sh [unit-id ...]
# Each service gets its own principal; each department unit gets one that may read only
# its own task topic (with its own consumer group) and write only the responses topic.
set -euo pipefail
: "${BOOTSTRAP:?set BOOTSTRAP}" "${ADMIN_CONFIG:?set ADMIN_CONFIG (admin client properties)}"
acl() { kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add "$@"; }
user() {  # user NAME PASSWORD
  kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --alter \
    --add-config "SCRAM-SHA-512=[password=$2]" --entity-type users --entity-name "$1"
}

# Services: all civicgrid topics, their own consumer groups, and topic creation.
for svc in intake dispatch enforcement analytics; do
  var="KAFKA_${svc^^}_PASSWORD"
  if [ -n "${!var:-}" ]; then user "svc-$svc" "${!var}"; fi
  acl --allow-principal "User:svc-$svc" --operation All --topic civicgrid. --resource-pattern-type prefixed
  acl --allow-principal "User:svc-$svc" --operation All --group "" --resource-pattern-type prefixed
  acl --allow-principal "User:svc-$svc" --operation Create --cluster
done

# Departments: read own tasks, write responses.
for unit in "$@"; do
  acl --allow-principal "User:dept-$unit" --operation Read --operation Describe \
      --topic "civicgrid.tasks.$unit.v1"
  acl --allow-principal "User:dept-$unit" --operation Read --group "department-$unit"
  acl --allow-principal "User:dept-$unit" --operation Write --operation Describe \
      --topic civicgrid.unit-responses.v1
done
echo "ACLs created. Department passwords: kafka-configs.sh ... --entity-name dept-<unit> (deploy/README.md)."
