"""Keeping every enabled mailbox's meetings current: subscriptions, webhooks, changes, catch-up, retention."""
