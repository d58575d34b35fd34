"""Meeting platforms: where a keyword's meeting is created (see ``base.MeetingPlatform``).

``builtin`` mints Jitsi-style rooms with no external call (the default on one machine);
``webex`` talks to the Webex REST API with the tenant's token. ``factory`` picks one per tenant.
"""
