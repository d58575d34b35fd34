"""Hybrid Calendar core package: everything with logic lives here; it never imports azure.functions."""
