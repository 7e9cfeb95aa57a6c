#!/bin/bash
# Runs inside the tier-4 VM (chroot into this machine's root, read-only, with tmpfs /tmp /run /var/tmp).
# Runs every tests/vm/scenarios/*.sh (or the job's --script), one after the other, each under its own time limit,
# and records per-case results in $OUT/results/cases.tsv (name, outcome, seconds; the message in results/NAME.msg).
# $OUT/progress gets "START scenario epoch" / "END scenario outcome" lines: the host's guard reads it to name a
# scenario that hung.
OUT=$1
. "$OUT/job.env"
export VM_OUT=$OUT VM_REPO VM_SID VM_FSHEALER VM_KERNEL_PACKAGE VM_GUEST_BIN VM_ALL
mkdir -p "$OUT/logs" "$OUT/results"
dmesg -n 1 2>/dev/null   # corruption reports go to the log buffer, not the (slow, serial) console

if [ -n "$VM_SCRIPT" ]; then
  eval "args=($(cat "$OUT/script.args"))"
  bash "$VM_SCRIPT" "${args[@]}" > "$OUT/script.out" 2>&1
  echo $? > "$OUT/script.rc"
  exit 0
fi

for f in "$VM_REPO"/tests/vm/scenarios/*.sh; do
  sc=$(basename "$f" .sh)
  if [ -n "$VM_ONLY" ] && ! [[ $sc =~ $VM_ONLY ]]; then continue; fi
  # a long scenario is opt-in ("# opt-in: WHY" in its header): run by --only or FSHEALER_VM_ALL=1, else one skipped case
  optin=$(sed -n 's/^# opt-in: //p' "$f" | head -1)
  if [ -n "$optin" ] && [ -z "$VM_ONLY" ] && [ -z "${VM_ALL:-}" ]; then
    echo "opt-in scenario, not run by default ($optin); run it with FSHEALER_VM_ALL=1 or tests/vm/run.sh --only $sc" \
      > "$OUT/results/$sc.msg"
    printf '%s\tNotExecuted\t0\n' "$sc" >> "$OUT/results/cases.tsv"
    continue
  fi
  echo "START $sc $(date +%s)" >> "$OUT/progress"
  t0=$(date +%s)
  export VM_SCENARIO=$sc
  # a scenario may declare its own limit ("# timeout: SECONDS" in its header); the job's is the default
  limit=$(sed -n 's/^# timeout: \([0-9]*\).*/\1/p' "$f" | head -1); limit=${limit:-$VM_SCENARIO_TIMEOUT}
  echo "LIMIT $sc $limit" >> "$OUT/progress"
  # the scenario records its own cases; its exit status says whether it ran to its end
  timeout -k 10 "$limit" bash "$f" > "$OUT/logs/$sc.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    if [ $rc = 124 ] || [ $rc = 137 ]; then why="hung: killed after ${limit}s"; else why="exited with status $rc"; fi
    { echo "scenario $sc $why (outside its cases or in the case it was running)"; echo "--- log (tail):"; tail -n 60 "$OUT/logs/$sc.log"; } \
      > "$OUT/results/$sc.scenario.msg"
    printf '%s.scenario\tFailed\t%s\n' "$sc" "$(( $(date +%s) - t0 ))" >> "$OUT/results/cases.tsv"
  fi
  # whatever a failed scenario left behind must not break the next one
  bash "$VM_REPO/tests/vm/lib.sh" --cleanup >> "$OUT/logs/$sc.log" 2>&1
  echo "END $sc $rc" >> "$OUT/progress"
done
echo "DONE $(date +%s)" >> "$OUT/progress"
