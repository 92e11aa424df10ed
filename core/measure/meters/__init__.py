"""Energy meters. A meter measures one window: ``begin()`` then ``end() -> list[EnergyReading]``."""
