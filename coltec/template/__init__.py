"""The copier side: template source and rendering, answers, cs:new, cs:update,
cs:outdated and cs:adopt (answers inferred from an existing devcontainer.json)."""
