"""Several Docker hosts: the hosts file, asking every host at once, placement of a
workspace, remote hosts (a volume instead of a bind mount), cs:list across hosts and
cs:move. Sits on top of runtime (one engine) and is used by the CLI edge only."""
