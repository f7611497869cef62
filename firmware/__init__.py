"""The desk phone daemon: a pure state machine, a dispatcher, and the SIP/XMPP engines around it."""
