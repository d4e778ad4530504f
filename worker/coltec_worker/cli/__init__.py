"""The worker's command-line edge: coltec-worker (main dispatches; daemon runs; flush,
status, reload), coltec-validate, and the compile child. Errors end here with their code."""
