"""Provisioning: the phone pulls its configuration from the provider and follows it (docs/provisioning.md).

schema (profile document, lax unknown keys), url (device identity, URL templates, boot file),
fetch (HTTPS), signature (Ed25519), store (last good profile, atomic), provisioner (the loop),
events, runtime (wiring to the Phone), xmpp_command (XEP-0050 "reprovision"), server (reference
service, `deskphone provision-server`).
"""
