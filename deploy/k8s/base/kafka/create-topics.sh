#!/usr/bin/env bash
# Create (or bring up to date) Cobuild's topics. Idempotent: run it on every deploy.
# Used by the compose `topics` job and the Kubernetes Job `cobuild-topics` (same file).
#
# Environment:
#   BOOTSTRAP            Kafka bootstrap servers (required)
#   PARTITIONS           partitions per topic (default 12)
#   ALLOW_PARTITION_GROWTH  "true" to add partitions to existing topics (default false:
#                        growing remaps keys to partitions, see docs/SCALING.md)
#   REPLICATION_FACTOR   1 for a single broker, 3 on a cluster (default 1)
#   MIN_INSYNC_REPLICAS  with acks=all, the replicas a write needs (default 1; 2 on a cluster)
#   EVENT_RETENTION_MS   event topics (default 400 days: a full assessment year plus margin)
#   DLQ_RETENTION_MS     dead-letter topics (default -1: kept until an operator deals with them)
#   MAX_MESSAGE_BYTES    max.message.bytes of every topic (default 1048588, Kafka's default:
#                        one record at the producers' max_request_size of 1 MiB plus framing;
#                        set with cobuild_kit.kafka's limits, docs/KIT.md "Event size")
#   COMMAND_CONFIG       optional client properties file (TLS/SASL for a managed Kafka)
#   KAFKA_BIN            where kafka-topics.sh lives (default /opt/kafka/bin)
#
# No compaction anywhere: an event topic mixes event types under one key (the aggregate id),
# so compaction would keep only the last event of each aggregate and lose its history.
set -euo pipefail

: "${BOOTSTRAP:?BOOTSTRAP must name the Kafka bootstrap servers}"
PARTITIONS="${PARTITIONS:-12}"
REPLICATION_FACTOR="${REPLICATION_FACTOR:-1}"
MIN_INSYNC_REPLICAS="${MIN_INSYNC_REPLICAS:-1}"
EVENT_RETENTION_MS="${EVENT_RETENTION_MS:-34560000000}"
DLQ_RETENTION_MS="${DLQ_RETENTION_MS:--1}"
MAX_MESSAGE_BYTES="${MAX_MESSAGE_BYTES:-1048588}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"

EVENT_TOPICS="agreements.events.v1 commitments.events.v1 points.events.v1 evaluation.events.v1 access.events.v1 escalations.events.v1"

client=(--bootstrap-server "$BOOTSTRAP")
if [[ -n "${COMMAND_CONFIG:-}" ]]; then
  client+=(--command-config "$COMMAND_CONFIG")
fi

# The broker may still be electing its controller: wait until it answers.
for attempt in $(seq 1 60); do
  if "$KAFKA_BIN/kafka-topics.sh" "${client[@]}" --list >/dev/null 2>&1; then
    break
  fi
  if [[ "$attempt" == 60 ]]; then
    echo "Kafka at $BOOTSTRAP did not answer" >&2
    exit 1
  fi
  sleep 2
done

ensure_topic() {
  local topic="$1" retention="$2"
  local configs="cleanup.policy=delete,retention.ms=${retention},min.insync.replicas=${MIN_INSYNC_REPLICAS},max.message.bytes=${MAX_MESSAGE_BYTES}"
  "$KAFKA_BIN/kafka-topics.sh" "${client[@]}" --create --if-not-exists --topic "$topic" \
    --partitions "$PARTITIONS" --replication-factor "$REPLICATION_FACTOR" \
    --config cleanup.policy=delete \
    --config "retention.ms=${retention}" \
    --config "min.insync.replicas=${MIN_INSYNC_REPLICAS}" \
    --config "max.message.bytes=${MAX_MESSAGE_BYTES}"
  # An existing topic gets today's settings too. Partitions only grow, and only on request:
  # a new partition count sends some keys to other partitions (see docs/SCALING.md).
  local current
  current=$("$KAFKA_BIN/kafka-topics.sh" "${client[@]}" --describe --topic "$topic" \
    | sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n 1)
  if [[ -n "$current" && "$current" -lt "$PARTITIONS" ]]; then
    if [[ "${ALLOW_PARTITION_GROWTH:-false}" == "true" ]]; then
      "$KAFKA_BIN/kafka-topics.sh" "${client[@]}" --alter --topic "$topic" --partitions "$PARTITIONS"
    else
      echo "topic $topic has $current partitions, fewer than $PARTITIONS: set ALLOW_PARTITION_GROWTH=true to grow it" >&2
    fi
  fi
  "$KAFKA_BIN/kafka-configs.sh" "${client[@]}" --alter --entity-type topics \
    --entity-name "$topic" --add-config "$configs"
  echo "topic $topic: partitions>=$PARTITIONS retention.ms=$retention"
}

for topic in $EVENT_TOPICS; do
  ensure_topic "$topic" "$EVENT_RETENTION_MS"
  ensure_topic "$topic.dlq" "$DLQ_RETENTION_MS"
done
