"""Attacks layer."""
