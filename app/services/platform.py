"""The handle every service takes: database, settings, keys, clock — no Flask anywhere below the web."""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher

from app.clock import Clock, SystemClock
from app.crypto import FieldCipher, Keys
from app.db import Database
from app.services import report_marks  # noqa: F401 — its flush listener marks report days stale
from app.settings import Settings


@dataclass
class Platform:
    db: Database
    settings: Settings
    keys: Keys
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        self.cipher = FieldCipher(self.keys.data_key, self.keys.search_key, self.keys.retired_data_keys)
        self.hasher = PasswordHasher(time_cost=self.settings.ARGON2_TIME_COST,
                                     memory_cost=self.settings.ARGON2_MEMORY_KIB, parallelism=1)
