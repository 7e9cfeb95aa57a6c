# bash completion for fshealer
_fshealer() {
    local cur prev cmd
    cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; cmd="${COMP_WORDS[1]}"
    local cmds="run watch xfs-healer replay healthmon mounts xfs-poll ext4-watch btrfs"
    if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "$cmds --help --version" -- "$cur")); return; fi
    case "$cmd" in
        run) COMPREPLY=($(compgen -W "--config --state-dir --mount-namespace --duration --repair --offline-repair --schedule-fsck --poll-interval" -- "$cur")) ;;
        xfs-healer) COMPREPLY=($(compgen -W "--debug --everything --foreground --no-autofsck --quiet --repair --supported --svcname --full-check-interval -V" -- "$cur")) ;;
        replay) COMPREPLY=($(compgen -W "--mount --outcome --default-outcome --autofsck --no-rmapbt --no-parent --no-repair-support --repair --everything --quiet" -- "$cur")) ;;
        healthmon) COMPREPLY=($(compgen -W "-b -c -d -p -v -o" -- "$cur")) ;;
        mounts) COMPREPLY=($(compgen -W "--json --all" -- "$cur")) ;;
        btrfs) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "status scrub watch" -- "$cur")) ;;
    esac
    [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -d -- "$cur"))
}
complete -F _fshealer fshealer
