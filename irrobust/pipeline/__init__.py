"""Pipeline layer: the transformer algebra, YAML schema, registries, runner and provenance."""
