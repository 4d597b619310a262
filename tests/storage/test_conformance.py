"""Every backend against the storage contract (`hyperdial.testing.storage`)."""

from hyperdial.testing.storage import StorageConformance


class TestStorageConformance(StorageConformance):
    """Runs the whole suite once per backend of the ``storage`` fixture."""
