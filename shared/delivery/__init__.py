"""Signed outgoing webhooks (Standard Webhooks): endpoints, their secrets, deliveries and retries.

Devices and apps register an endpoint per room or per user; events for that mailbox (the Join
button's ``join_button.shown`` / ``join_button.withdrawn``, and later kinds) are POSTed to it,
signed as the Standard Webhooks specification describes, at least once, with one ``webhook-id``
per event across every retry so that receivers can de-duplicate.
"""
