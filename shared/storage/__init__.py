"""What the product keeps, in Azure Tables and Queues (Azurite on one machine).

Key design — every key is an id, never personal data (no address, subject or URL):

============  ==========================  =====================================  =====================
table         PartitionKey                RowKey                                 sealed fields
============  ==========================  =====================================  =====================
tenants       ``tenant``                  tenant id (GUID)                       DisplayName
mailboxes     tenant id                   mailbox object id (GUID)               Address, DisplayName
subscriptions tenant id                   Graph subscription id (GUID)           —
meetings      ``{tenant}|{mailbox}``      ``m|{startUTC}|{occurrence hash}``     EventId, ICalUId,
                                          ``e|{event hash}`` (event index)       Subject, OrganizerName,
                                                                                 JoinUrl, SipUri
datakeys      tenant id                   data key id (creation time + random)   (wrapped by the KEK)
deltalinks    tenant id                   mailbox object id                      DeltaLink
tokencaches   tenant id                   user object id                         Cache
============  ==========================  =====================================  =====================

* A mailbox's meetings are one partition whose meeting rows sort by start time, so "meetings
  of this mailbox between A and B" is one range query, and purging rows older than the
  retention window is a range query over the same partition (cost proportional to the rows
  it deletes). Hashes are SHA-256 of Graph's immutable ids (ids contain ``/``, which keys
  forbid). The event index row of each notified event lists its occurrence rows and holds the
  ``changeKey`` and ``lastModifiedDateTime``, so duplicates cost nothing and older deliveries
  never overwrite newer data; it is written in the same entity group transaction as the rows.
* A subscription row holds a SHA-256 of its ``clientState``, so the webhook verifies
  notifications without a Graph or key-provider call.
* Sealed fields are AES-256-GCM records bound to table, keys and field (``shared.crypto``).
* Queue messages carry references only (ids and a change type), never payloads.
"""
