#!/usr/bin/env bash
# Prints the directory of a minimal Debian 12 (bookworm) root, made once with debootstrap --variant=minbase and
# cached (default /var/cache/fshealer/bookworm-minbase, or $FSHEALER_DEBIAN_ROOT). The package test installs
# fshealer's .deb into an overlay of it (the cached root itself is never changed), so it also keeps the .deb files
# of the package's dependencies that minbase lacks in its apt cache: the test's `apt-get install ./fshealer_*.deb`
# then needs no network. Needs root and debootstrap (installed with apt-get when missing).
set -euo pipefail
ROOT=${FSHEALER_DEBIAN_ROOT:-/var/cache/fshealer/bookworm-minbase}
MIRROR=${FSHEALER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
EXTRA=(procps)      # Depends of fshealer that minbase does not have (fetched, not installed)
[ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 77; }
if [ ! -f "$ROOT/.fshealer-base-ready" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >&2
  rm -rf "$ROOT.tmp"
  mkdir -p "$(dirname "$ROOT")"
  echo "== debootstrap --variant=minbase bookworm $ROOT (once; about 200 MB)" >&2
  debootstrap --variant=minbase bookworm "$ROOT.tmp" "$MIRROR" >&2
  rm -rf "$ROOT"
  mv "$ROOT.tmp" "$ROOT"
fi
if [ ! -f "$ROOT/.fshealer-base-ready" ] || [ "$(cat "$ROOT/.fshealer-base-ready")" != "${EXTRA[*]}" ]; then
  chroot "$ROOT" apt-get install -y -qq --download-only --no-install-recommends "${EXTRA[@]}" >&2
  echo "${EXTRA[*]}" > "$ROOT/.fshealer-base-ready"
fi
echo "$ROOT"
