"""The firmware's one exception tree."""


class FirmwareError(Exception):
    """Base of every error the firmware raises."""


class ConfigError(FirmwareError):
    """A configuration file that cannot be used; the message names the field and the fix."""


class SipError(FirmwareError):
    """pjsua2 refused an operation (bad URI, transport failure...)."""


class LabError(FirmwareError):
    """A lab server (Kamailio, baresip) failed to start or stop."""
