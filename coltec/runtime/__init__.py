"""Running workspaces: the Docker engine, devcontainer up/down/exec/logs, cs:list's fleet
view, config drift, secrets delivery, the base image, tailnet discovery and the demo."""
