"""Roster, presence, vCards and chat over XMPP (slixmpp): everything but calls, as RFC 7081 puts it."""
