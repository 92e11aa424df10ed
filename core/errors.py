"""The error hierarchy. Every message says what was wrong and what to do about it."""


class AccelscopeError(Exception):
    """Base of every error Accelscope raises on purpose."""


class UnsupportedSpec(AccelscopeError):
    """A probe spec that cannot run on the chosen device (refused before anything runs)."""


class DeviceUnavailable(AccelscopeError):
    """The device named in a spec is not on this machine."""


class DeviceBusy(AccelscopeError):
    """Another probe is already measuring this device; running now would corrupt both."""


class ProbeDiverged(AccelscopeError):
    """A probe's training loss became NaN or infinite: no meaningful measurement."""


class ImplausibleMeasurement(AccelscopeError):
    """A probe measured something no device can do (a broken timer, a workload that skips its
    work): it fails instead of storing the figure."""


class InvalidCostSettings(AccelscopeError):
    """A cost setting out of range (negative price, zero lifetime, more hours than a year has).
    ``field`` names the setting, so the CLI can name its flag."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StoreError(AccelscopeError):
    """The results store cannot be opened or written."""


class StoreUnavailable(StoreError):
    """The store is there but cannot take a write now (locked, connection lost): try again later."""


class InvalidResult(AccelscopeError):
    """A result whose figures cannot be true (see core.facts.validation); it was not stored."""


class InvalidImport(AccelscopeError):
    """An import file is malformed; nothing of it was imported."""


class InvalidPriceSheet(AccelscopeError):
    """A price sheet or catalog file breaks the schema; nothing of it is used."""
