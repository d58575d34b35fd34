"""Keyword scheduling: ``@webex`` / ``@meet`` in Location become a meeting written into the invite.

``blocks`` renders and places the join block, ``records`` keeps what was created (with the
idempotency key written before the platform is called), ``config`` says which platform and
meeting kind each keyword and modifier means for a tenant, ``flow`` ties them to an event.
"""
