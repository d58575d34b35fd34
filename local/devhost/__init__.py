"""The pieces of the local Functions host: metadata, host.json, invocation, HTTP, timers, queues."""
