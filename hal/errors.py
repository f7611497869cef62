"""The hardware layer's one exception tree."""


class HalError(Exception):
    """Base of every error the hardware layer raises."""


class UnknownBackendError(HalError):
    """A backend name that is not registered (we never fall back silently)."""


class HalConfigError(HalError):
    """A hardware profile that cannot describe a working board."""


class DeviceError(HalError):
    """A device that is configured but failed (missing I2C bus, ALSA card not found...)."""
