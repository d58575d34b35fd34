"""Envelope encryption: AES-256-GCM field records under per-tenant data keys wrapped by a KEK.

``envelope`` is the record format, ``providers`` the KEK providers (local JWK, Azure Key
Vault, AWS KMS), ``keyring`` the per-tenant data keys, ``fields`` sealing table fields, and
``factory`` builds them from the settings.
"""
