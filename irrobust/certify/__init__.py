"""Certify layer."""
