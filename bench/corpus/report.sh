#!/usr/bin/env bash
# Per-image CSV and the issue-17 table from a run directory (run.sh calls it; rerun it any time).
#   bench/corpus/report.sh RUN_DIR        -> RUN_DIR/results.csv, RUN_DIR/summary.md (also printed)
# Classification (per image; see bench/corpus/README.md):
#   kernel_saw      mounted, and while it was used: a damage line about our device in the kernel log, or the
#                   user got EUCLEAN/EIO/EBADMSG/EROFS/ESTALE, or ext4 errors_count > 0, or btrfs device errors > 0
#   detected        fshealer's history has a damage event or a repair action for this filesystem
#   healed          fshealer acted, and the plain tool (no-modify) then finds the filesystem clean, and it is mounted
#   tool_healed     on a fresh copy, the plain tool alone leaves the filesystem clean
#   latent          damaged before (the plain tool finds it), mounted, but the user's I/O surfaced nothing
#   false_positive  clean before, nothing surfaced, yet fshealer reported damage or status is not healthy (a status
#                   degraded only by check freshness — "older than max_check_age" — counts as healthy)
#   claimed_unclean fshealer said a repair succeeded and the independent check disagrees
#   unm_healed      the kernel refused the mount; the daemon repaired the device and mounted it as the image's fstab
#                   line says, and the independent check is clean ("fshealer healed unmountable")
set -euo pipefail
RUN=${1:?usage: report.sh RUN_DIR}
CSV="$RUN/results.csv" MD="$RUN/summary.md"
cols="id fs origin category pre null_uuid mount_ok kernel_saw kernel_lines user_euclean user_eio user_ebadmsg user_erofs user_estale ext4_errors_count btrfs_dev_errs attach_ms detected acted claimed repair_failed healed after mounted_after status_health degraded_after_heal daemon_rc daemon_crash fanotify_refused tool tool_rc tool_mountable tool_healed unm_healed unm_outcome latent false_positive claimed_unclean timeout elapsed_ms first_detect kernel_first mount_error status_reasons"
{
  echo "$cols" | tr ' ' ','
  for r in "$RUN"/images/*/result.env; do
    [ -f "$r" ] || continue
    awk -F= -v cols="$cols" '
      { k=$1; sub(/^[^=]*=/, ""); v[k]=$0 }
      END {
        err = v["user_euclean"] + v["user_eio"] + v["user_ebadmsg"] + v["user_erofs"] + v["user_estale"]
        ks = (v["mount_ok"] == 1 && (v["kernel_lines"] > 0 || err > 0 || (v["ext4_errors_count"] ~ /^[0-9]+$/ && v["ext4_errors_count"] > 0) || v["btrfs_dev_errs"] > 0)) ? 1 : 0
        v["kernel_saw"] = ks
        v["healed"] = (v["acted"] == 1 && v["after"] == "clean" && v["mounted_after"] == 1) ? 1 : 0
        v["tool_healed"] = (v["pre"] == "dirty" && v["tool"] == "clean") ? 1 : 0
        v["latent"] = (v["pre"] == "dirty" && v["mount_ok"] == 1 && !ks) ? 1 : 0
        # a status that is degraded only because the last check is older than max_check_age (the scheduled-check runs
        # use 5 s) says nothing about damage: counted as healthy here, the raw value stays in status_health
        eff = v["status_health"]; nr = split(v["status_reasons"], rs, "; "); fresh = nr > 0
        for (j = 1; j <= nr; j++) if (rs[j] !~ /max_check_age/) fresh = 0
        if (eff == "degraded" && fresh) eff = "healthy"
        v["false_positive"] = (v["pre"] == "clean" && !ks && (v["detected"] == 1 || (eff != "" && eff != "healthy"))) ? 1 : 0
        v["claimed_unclean"] = (v["claimed"] == 1 && v["after"] != "clean") ? 1 : 0
        v["degraded_after_heal"] = (v["healed"] == 1 && eff != "healthy") ? 1 : 0
        v["category"] = v["mount_ok"] != 1 ? "unmountable" : ks ? "kernel-saw" : v["pre"] == "dirty" ? "latent" : "clean"
        n = split(cols, c, " ")
        for (i = 1; i <= n; i++) {
          x = v[c[i]]; gsub(/"/, "\x27", x)
          if (x ~ /[ ;:]/) x = "\"" x "\""
          printf "%s%s", x, (i < n ? "," : "\n")
        }
      }' "$r"
  done
} > "$CSV"

# markdown: the table of issue 17, then the images behind every miss
awk -F, -v run="$RUN" '
  function unq(s) { gsub(/^"|"$/, "", s); return s }
  NR == 1 { for (i = 1; i <= NF; i++) ix[$i] = i; next }
  {
    fs = $ix["fs"]; F[fs] = 1; n[fs]++
    ks = $ix["kernel_saw"]; th = $ix["tool_healed"]; h = $ix["healed"]; d = $ix["detected"]
    if ($ix["mount_ok"] != 1) { um[fs]++; if (th && $ix["tool_mountable"] == 1) { umfix[fs]++; if ($ix["unm_healed"] == 1) umfixh[fs]++ }
                                if ($ix["unm_healed"] == 1) umh[fs]++ }
    if (ks) { K[fs]++; if (d) KD[fs]++; if (h) KH[fs]++; if (th) KT[fs]++; if (th && h) KTH[fs]++
              if (th && !h) miss[fs] = miss[fs] sprintf("| %s | %s | %s | %s | %s |\n", $ix["id"], d ? "yes" : "no", unq($ix["after"]), unq($ix["status_health"]), substr(unq($ix["kernel_first"]), 1, 110)) }
    if ($ix["latent"]) { L[fs]++; if (th) LT[fs]++; if (th && h) LH[fs]++ }
    if ($ix["false_positive"]) { FP[fs]++; fpl = fpl " " $ix["id"] }
    if ($ix["claimed_unclean"]) { CU[fs]++; cul = cul " " $ix["id"] }
    if ($ix["mount_ok"] == 1 && $ix["acted"] == 1 && $ix["mounted_after"] == 0) { LU[fs]++; lul = lul " " $ix["id"] }
    if ($ix["degraded_after_heal"]) { DG[fs]++; dgl = dgl " " $ix["id"] }
    if ($ix["daemon_crash"] == 1 || ($ix["daemon_rc"] != "" && $ix["daemon_rc"] != 0)) { CR[fs]++; crl = crl " " $ix["id"] }
    if ($ix["timeout"] == 1) { TO[fs]++; tol = tol " " $ix["id"] }
    if ($ix["null_uuid"] == 1 && ks) { NU[fs]++; if (h) NUH[fs]++ }
  }
  function z(x) { return x + 0 }
  function pct(a, b) { return b > 0 ? sprintf("%d %%", 100 * a / b + 0.5) : "–" }
  END {
    print "| fs | images | kernel saw damage while mounted | fshealer detected | fshealer healed | tool alone healed (same cases) | fshealer heals of what the tool heals | latent: tool fixes (fshealer heals) | unmountable (tool fixes) | unmountable: fshealer heals (of tool fixes) | false positives | claimed but unclean | left unmounted | healed, status not healthy | daemon errors / timeouts |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    split("ext4 xfs btrfs", order, " ")
    for (o = 1; o <= 3; o++) { fs = order[o]; if (!(fs in F)) continue
      printf "| %s | %d | %d | %d | %d | %d | %s (%d of %d) | %d (%d) | %d (%d) | %d (%d of %d) | %d | %d | %d | %d | %d / %d |\n", fs, n[fs], z(K[fs]), z(KD[fs]), z(KH[fs]), z(KT[fs]), pct(KTH[fs], KT[fs]), z(KTH[fs]), z(KT[fs]), z(LT[fs]), z(LH[fs]), z(um[fs]), z(umfix[fs]), z(umh[fs]), z(umfixh[fs]), z(umfix[fs]), z(FP[fs]), z(CU[fs]), z(LU[fs]), z(DG[fs]), z(CR[fs]), z(TO[fs]) }
    print ""
    for (o = 1; o <= 3; o++) { fs = order[o]; if (NU[fs]) printf "%s images with a null UUID where the kernel saw damage: %d, healed %d\n\n", fs, NU[fs], z(NUH[fs]) }
    print "### Where the tool alone heals and fshealer does not (kernel saw the damage)"
    print ""
    print "| image | fshealer detected | independent check after | status | first kernel damage line |"
    print "|---|---|---|---|---|"
    for (o = 1; o <= 3; o++) printf "%s", miss[order[o]]
    print ""
    if (fpl != "") print "False positives:" fpl "\n"
    if (cul != "") print "Claimed but unclean:" cul "\n"
    if (lul != "") print "Left unmounted after acting:" lul "\n"
    if (dgl != "") print "Healed but status not healthy:" dgl "\n"
    if (crl != "") print "Daemon exited non-zero or crashed:" crl "\n"
    if (tol != "") print "Timed out:" tol "\n"
  }' "$CSV" > "$MD"
{ cat "$RUN/run-info.txt" 2>/dev/null | sed 's/^/    /'; echo; } | cat - "$MD" > "$MD.new" && mv "$MD.new" "$MD"
cat "$MD"
