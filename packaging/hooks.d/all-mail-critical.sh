#!/bin/sh
# fshealer hook: mail an administrator about critical events only (data lost, a shutdown, an
# interrupted repair), through the local MTA. fshealer's own "notify.email" sends every event above
# min_severity; this hook is for a second, louder address.
#
# Install: copy to /etc/fshealer/hooks.d/ (owned by root, mode 0755) and set MAILTO below.
set -eu

MAILTO="root"

[ "${FSHEALER_SEVERITY:-}" = "critical" ] || exit 0

sendmail=""
for s in /usr/sbin/sendmail /usr/lib/sendmail; do
  if [ -x "$s" ]; then sendmail="$s"; break; fi
done
if [ -z "$sendmail" ]; then
  echo "all-mail-critical: no sendmail found; cannot mail $MAILTO" >&2
  exit 1
fi

{
  printf 'To: %s\n' "$MAILTO"
  printf 'Subject: %s\n' "${FSHEALER_SUBJECT:-[fshealer] critical event}"
  printf 'Auto-Submitted: auto-generated\n'
  printf 'Content-Type: text/plain; charset=utf-8\n\n'
  printf 'host:    %s\n' "${FSHEALER_HOST:-?}"
  printf 'class:   %s\n' "${FSHEALER_CLASS:-?}"
  printf 'mount:   %s\n' "${FSHEALER_MOUNT:-?}"
  printf 'device:  %s\n' "${FSHEALER_DEVICE:-?}"
  printf 'uuid:    %s\n' "${FSHEALER_FS_UUID:-?}"
  printf 'time:    %s\n\n' "${FSHEALER_TIME:-?}"
  printf '%s\n' "${FSHEALER_MESSAGE:-}"
} | "$sendmail" -t -oi
