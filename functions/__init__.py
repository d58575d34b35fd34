"""Thin trigger adapters: one Blueprint per module, no business logic."""
