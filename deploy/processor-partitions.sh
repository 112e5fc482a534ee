#!/bin/sh
# Starts `recstream process` on this instance's share of the partitions.
#
# Partition p (0 <= p < RECSTREAM_PARTITIONS) belongs to the instance whose
# ordinal is p mod PROCESSOR_REPLICAS. With 4 partitions and 2 instances:
# ordinal 0 runs 0,2 and ordinal 1 runs 1,3. Scaling 2 -> 4 keeps a subset
# of each old instance's partitions on it (0 -> 0, 1 -> 1) and moves the
# rest, which their new owners restore from the changelog topics.
#
# The ordinal is PROCESSOR_ORDINAL when set (Kubernetes: the pod label
# apps.kubernetes.io/pod-index through the downward API), else the number
# after the last '-' of the host name (a StatefulSet pod is <name>-<ordinal>).
# PROCESSOR_REPLICAS must equal the StatefulSet's replicas.
#
#   processor-partitions.sh [--print] [recstream process options...]
#   --print: print the partition list and exit (used by the tests)
set -eu

ordinal="${PROCESSOR_ORDINAL:-${HOSTNAME##*-}}"
replicas="${PROCESSOR_REPLICAS:-}"
partitions="${RECSTREAM_PARTITIONS:-4}"

fail() {
  echo "processor-partitions: $*" >&2
  exit 64
}
is_count() {
  case "$1" in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac
}

is_count "$replicas" && [ "$replicas" -ge 1 ] ||
  fail "PROCESSOR_REPLICAS must be the number of processor instances (a whole number >= 1), got '${replicas}'"
is_count "$partitions" && [ "$partitions" -ge 1 ] ||
  fail "RECSTREAM_PARTITIONS must be a whole number >= 1, got '${partitions}'"
is_count "$ordinal" ||
  fail "no ordinal: set PROCESSOR_ORDINAL or run with a host name ending in -<ordinal> (got '${HOSTNAME:-}')"
[ "$ordinal" -lt "$replicas" ] ||
  fail "ordinal ${ordinal} is not below PROCESSOR_REPLICAS=${replicas}: set PROCESSOR_REPLICAS to the number of instances"

list=""
p="$ordinal"
while [ "$p" -lt "$partitions" ]; do
  list="${list:+${list},}${p}"
  p=$((p + replicas))
done
[ -n "$list" ] ||
  fail "instance ${ordinal} of ${replicas} has no partition of ${partitions}: run at most RECSTREAM_PARTITIONS instances"

if [ "${1:-}" = "--print" ]; then
  echo "$list"
  exit 0
fi
echo "processor-partitions: instance ${ordinal} of ${replicas} runs partitions ${list} of ${partitions}" >&2
exec recstream process --partitions "$list" "$@"
