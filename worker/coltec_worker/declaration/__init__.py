"""The one pipeline every entry point gets a configuration from: bounded YAML (source) ->
JSON Schema (schemacheck, validation) -> semantic rules (rules, env_rules) -> user config
-> environment (environ, secretfile, resolve, remote) -> the compiled plan (compiled)."""
