"""SIP calls with pjsua2: the engine turns pjsua2 callbacks into typed events and carries out commands."""
