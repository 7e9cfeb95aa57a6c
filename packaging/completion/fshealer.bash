# bash completion for fshealer: every command, subcommand and option (a test compares this with the CLI's --help).
_fshealer() {
    local cur prev words cword
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    local cmds="xfs-healer replay healthmon watch run demo notify verify-media status history config mounts xfs-poll btrfs ext4-watch devices"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$cmds --help --version" -- "$cur"))
        return
    fi
    local cmd="${COMP_WORDS[1]}" sub="" opts="" subs=""
    case "$cmd" in
        notify) subs="test" ;;
        config) subs="check show" ;;
        btrfs) subs="status scrub watch reset-counters" ;;
    esac
    if [ -n "$subs" ]; then
        if [ "$COMP_CWORD" -eq 2 ]; then
            COMPREPLY=($(compgen -W "$subs --help" -- "$cur"))
            return
        fi
        sub="${COMP_WORDS[2]}"
    fi
    # option arguments: files, directories, fixed words
    case "$prev" in
        --config|--state|-o) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --state-dir|--sysfs|--mount) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --mount-namespace) COMPREPLY=($(compgen -f -- "${cur:-/proc/}")); return ;;
        --policy) COMPREPLY=($(compgen -W "report schedule offline-repair" -- "$cur")); return ;;
        --device) [ "$cmd" = verify-media ] && { COMPREPLY=($(compgen -W "data log rt" -- "$cur")); return; } ;;
        --autofsck) COMPREPLY=($(compgen -W "none check optimize repair" -- "$cur")); return ;;
        --class) COMPREPLY=($(compgen -W "Attached Detached Moved Deferred MetadataSick MetadataCorrupt MetadataHealthy IoError MediaError DataLost Shutdown EventsLost ErrorsMissed CounterRise RepairSucceeded RepairUnnecessary RepairProbablyOk RepairFailed RepairRefused FullCheckStarted FullCheckSuppressed ScrubFinished OfflineRepair CheckScheduled Diagnostic Decision ActionStarted ActionInterrupted CheckOverdue" -- "$cur")); return ;;
        --fs) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --duration|--poll-interval|--media-scan-interval|--media-scan-limit|--start|--end|--max-io|--rest-us|--bwlimit|--since|--limit|--interval|--inode-budget|--progress-interval|--full-scrub-days|--full-check-interval|--stop-timeout|--outcome|--default-outcome|-b|-d) return ;;
    esac
    case "$cmd${sub:+ $sub}" in
        xfs-healer) opts="--debug --everything --foreground --no-autofsck --quiet --repair --supported --svcname --full-check-interval -V" ;;
        replay) opts="--mount --outcome --default-outcome --autofsck --no-rmapbt --no-parent --no-repair-support --debug --everything --foreground --no-autofsck --quiet --repair --full-check-interval" ;;
        healthmon) opts="-b -c -d -p -v -o" ;;
        watch) opts="--config --state-dir --duration --repair --offline-repair --schedule-fsck --poll-interval" ;;
        run) opts="--config --state-dir --mount-namespace --duration --repair --offline-repair --poll-interval --stop-timeout --schedule-fsck --media-scan-interval --media-scan-speed-limit" ;;
        demo) opts="" ;;
        "notify test") opts="--config" ;;
        verify-media) opts="--device --start --end --max-io --rest-us --report --fallback --speed-limit --whole-device --state-dir --pinpoint" ;;
        status) opts="--json --state-dir --config --fs" ;;
        history) opts="--since --fs --class --limit --json --state-dir --config" ;;
        "config check") opts="--config" ;;
        "config show") opts="--config --json" ;;
        mounts) opts="--json --all" ;;
        xfs-poll) opts="--poll-interval --once --inode-budget" ;;
        "btrfs status") opts="" ;;
        "btrfs reset-counters") opts="--state-dir --config" ;;
        "btrfs scrub") opts="--device --readonly --speed-limit --progress-interval" ;;
        "btrfs watch") opts="--readonly --speed-limit --no-scrub --full-scrub-interval --config --state-dir --duration --repair --offline-repair --schedule-fsck --poll-interval" ;;
        ext4-watch) opts="--no-paths --policy --config --state-dir --duration --repair --offline-repair --schedule-fsck --poll-interval" ;;
        devices) opts="--sysfs" ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
    elif [ "$cmd${sub:+ $sub}" = "config check" ]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        # mount points, files to replay, paths
        COMPREPLY=($(compgen -d -- "$cur"))
        [ "$cmd" = replay ] && COMPREPLY+=($(compgen -f -- "$cur"))
    fi
}
complete -F _fshealer fshealer
