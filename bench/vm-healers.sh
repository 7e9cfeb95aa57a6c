#!/usr/bin/env bash
# xfs_healer vs fshealer xfs-healer on a real Linux 7.x kernel (the tier-4 VM): event -> repair latency and a
# real-event storm. Not part of the timed suite. Usage: sudo bench/vm-healers.sh [ROUNDS] [FILES]
exec "$(dirname "$0")/../tests/vm/run.sh" --timeout "${FSHEALER_VM_TIMEOUT:-3000}" --script "$(dirname "$0")/vm/healers.sh" "$@"
