"""Report layer."""
