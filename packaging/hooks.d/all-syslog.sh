#!/bin/sh
# fshealer hook: log every notification to syslog (and so to the journal), one line each.
#
# Install: copy to /etc/fshealer/hooks.d/ (owned by root, mode 0755; fshealer refuses group- or
# world-writable hooks). "all-*" hooks run for every message; "<class>-*" hooks (e.g. io_error-*,
# data_lost-*, digest-*) for one class only — see fshealer.json(5) for the class list.
# The environment holds only FSHEALER_* variables and PATH=/usr/sbin:/usr/bin:/sbin:/bin.
set -eu

tag="fshealer-hook"
case "${FSHEALER_SEVERITY:-info}" in
  critical) prio=crit ;;
  error)    prio=err ;;
  warning)  prio=warning ;;
  notice)   prio=notice ;;
  debug)    prio=debug ;;
  *)        prio=info ;;
esac

msg="${FSHEALER_CLASS:-?}: ${FSHEALER_SUBJECT:-}"
[ -n "${FSHEALER_DEVICE:-}" ] && msg="$msg (device ${FSHEALER_DEVICE})"
[ -n "${FSHEALER_FS_UUID:-}" ] && msg="$msg (uuid ${FSHEALER_FS_UUID})"

exec logger -t "$tag" -p "daemon.$prio" -- "$msg"
