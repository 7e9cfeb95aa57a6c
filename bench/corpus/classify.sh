#!/bin/bash
# What fshealer saw and did about one image, from its events.json (written by run-one.sh): appends detected, acted,
# claimed, repair_failed, first_detect, ev_classes to its result.env (the last value of a key wins).
# History JSON names classes and severities in snake case since cfg16 ("metadata_corrupt", "notice"), before in
# Pascal case: both are read, normalised to Pascal case first.
#   bench/corpus/classify.sh IMAGE_DIR            one image (run-one.sh calls this)
#   bench/corpus/classify.sh --run RUN_DIR        every image of a run (re-classify a run after a format change)
set -u
one() {
  local W=$1 R=$1/result.env
  [ -f "$W/events.json" ] || return 0
  local N="$W/events.norm.json"
  jq '[.[] | .class |= (split("_") | map((.[:1] | ascii_upcase) + .[1:]) | join(""))
            | .severity |= ((.[:1] | ascii_upcase) + .[1:])]' "$W/events.json" > "$N" 2>/dev/null || echo '[]' > "$N"
  q() { jq -r "$1" "$N" 2>/dev/null; }
  res() { local v=${2//$'\n'/ }; v=${v//$'\t'/ }; v=${v//,/ }; printf '%s=%s\n' "$1" "${v:0:300}" >> "$R"; }
  res ev_classes "$(q '[.[].class] | group_by(.) | map("\(.[0]):\(length)") | join(" ")')"
  # a scheduled check's start is not a detection (the damage it finds is a metadata_corrupt event of its own)
  res detected "$(q '[.[] | select(((.class == "ActionStarted") and ((.message // "") | test("scheduled (offline|online) check"))) | not)
               | select((.class | IN("MetadataSick","MetadataCorrupt","IoError","MediaError","DataLost","Shutdown","ErrorsMissed","CounterRise","ActionStarted","OfflineRepair","RepairSucceeded","RepairFailed","RepairProbablyOk","RepairRefused","FullCheckStarted","FullCheckSuppressed","CheckScheduled")) or (.class == "ScrubFinished" and (((.count // 0) > 0) or (.severity | IN("Error","Critical")))))] | if length > 0 then 1 else 0 end')"
  res acted "$(q '[.[] | select(.class | IN("ActionStarted","OfflineRepair","RepairSucceeded","RepairProbablyOk","RepairFailed","ScrubFinished","CheckScheduled","FullCheckStarted"))] | if length > 0 then 1 else 0 end')"
  res claimed "$(q '[.[] | select((.class == "OfflineRepair" and .severity == "Notice") or .class == "RepairSucceeded" or (.class == "ScrubFinished" and .severity == "Notice" and ((.count // 0) > 0)))] | if length > 0 then 1 else 0 end')"
  res repair_failed "$(q '[.[] | select((.class == "OfflineRepair" and .severity != "Notice") or .class == "RepairFailed" or (.class == "ScrubFinished" and (.severity | IN("Error","Critical"))))] | if length > 0 then 1 else 0 end')"
  res first_detect "$(q '[.[] | select(((.class == "ActionStarted") and ((.message // "") | test("scheduled (offline|online) check"))) | not)
               | select(.class | IN("MetadataSick","MetadataCorrupt","IoError","MediaError","Shutdown","ErrorsMissed","CounterRise","ActionStarted"))][0].message // ""')"
}
if [ "${1:-}" = --run ]; then
  for w in "$2"/images/*/; do one "${w%/}"; done
else
  one "$1"
fi
