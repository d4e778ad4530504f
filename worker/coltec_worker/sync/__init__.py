"""Running the plan: the daemon's loop (loop, signals; configure turns the options and the
compiled plan into what it runs), the schedule (scheduling: one job per path, its next
run), one run of one path (job: plan -> guards -> runner, then recovery and verdict),
rclone's log, quarantine, status and the state directory (state, pidfile), the tailnet,
and the compile step the daemon runs in a child."""
