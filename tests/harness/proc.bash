# proc.bash -- process identity helpers shared by s3-up, s3-down and check-clean (sourced).
#
# A process is identified by PID *and* its start time (field 22 of /proc/PID/stat, clock
# ticks since boot): a PID alone can be reused by an unrelated process once ours has exited.
#
# Record formats, one process per line, fields separated by one space:
#   DIR/pids/NAME.pid   PID STARTTIME EXE            (deleted by s3-down once stopped)
#   DIR/started.pids    PID STARTTIME EXE NAME UTC   (append-only; read by check-clean)
# EXE is the basename of the binary the process is expected to run (/proc/PID/exe).

# proc_stat PID: the fields of /proc/PID/stat after "(comm) ", i.e. field 3 (state) onward.
# comm may contain spaces and parentheses, so split after the last ") ".
proc_stat() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    printf '%s\n' "${s##*) }"
}

proc_state() {
    local s
    s=$(proc_stat "$1") || return 1
    printf '%s\n' "${s%% *}"
}

proc_starttime() {
    local s a
    s=$(proc_stat "$1") || return 1
    read -ra a <<<"$s"
    printf '%s\n' "${a[19]}"
}

# basename of the running binary; "" when unreadable (exited, or another user's process)
proc_exe() {
    local e
    e=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    e=${e% (deleted)}
    printf '%s\n' "${e##*/}"
}

# running: exists and is not a zombie waiting to be reaped by whichever process adopted it
proc_alive() {
    local st
    st=$(proc_state "$1") || return 1
    [ "$st" != Z ] && [ "$st" != X ]
}

# proc_is PID STARTTIME: PID is still the very process that was recorded, and running
proc_is() {
    [[ "$1" =~ ^[0-9]+$ ]] && [[ "$2" =~ ^[0-9]+$ ]] || return 1
    [ "$(proc_starttime "$1" 2>/dev/null)" = "$2" ] && proc_alive "$1"
}

# proc_cmdline PID: argv joined with spaces
proc_cmdline() {
    local c
    c=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    printf '%s\n' "$c"
}
