"""A local stand-in for the Webex meetings API and its token endpoint (see ``app`` for what it reproduces)."""
