"""Checks of a declaration beyond its schema: org policy layers and rules, the image and
`docker run` options a workspace asks for, the user config, and the validation run that
puts them together with the worker's schema + semantic rules."""
