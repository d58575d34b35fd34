"""Azure Tables and Queues access (Azurite on one machine)."""
