"""Running the plan: the daemon's loop (schedule holds the jobs), one run of one path (job:
plan -> guards -> runner -> verdict), rclone's log, quarantine, status and the state
directory (state, pidfile), the tailnet, and the compile step the daemon runs in a child."""
