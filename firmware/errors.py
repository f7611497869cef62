"""The firmware's one exception tree."""


class FirmwareError(Exception):
    """Base of every error the firmware raises."""


class ConfigError(FirmwareError):
    """A configuration file that cannot be used; the message names the field and the fix."""


class SipError(FirmwareError):
    """pjsua2 refused an operation (bad URI, transport failure...)."""


class LabError(FirmwareError):
    """A lab server (Kamailio, baresip) failed to start or stop."""


class ProvisioningError(FirmwareError):
    """A profile could not be fetched or used; the last good profile stays in force."""


class FetchError(ProvisioningError):
    """The provisioning server could not be reached or answered with an error."""


class TlsError(FetchError):
    """The server's certificate was refused (expired, unknown CA, wrong name) or TLS failed."""


class InsecureUrlError(FetchError):
    """An http:// URL or a redirect to one: profiles travel over HTTPS only."""


class HttpStatusError(FetchError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AuthRequiredError(HttpStatusError):
    """HTTP 401 and no credentials yet: the person is asked for them."""

    def __init__(self, realm: str, message: str, *, rejected: bool = False) -> None:
        super().__init__(401, message)
        self.realm = realm
        self.rejected = rejected  # credentials were sent and refused


class TooLargeError(FetchError):
    """The body is larger than provisioning.max_bytes (the download was aborted)."""


class FetchTimeoutError(FetchError):
    """No complete answer within provisioning.timeout_s."""


class ProfileError(ProvisioningError):
    """The document itself is unusable: not JSON, wrong types, missing fields, another device's."""


class SignatureError(ProfileError):
    """Missing, malformed or wrong signature, or no key to check it with."""


class RollbackError(ProfileError):
    """A version not newer than the profile in force (replay or rollback)."""
