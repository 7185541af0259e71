"""Data-key rotation: which rows are under which key, and rewrapping them under the current one in batches.

Each batch is its own short transaction (rows locked only while they are rewritten), so the application keeps
running; a rewrap stopped half way is resumed by running it again — rows already under the current key are
skipped. New rows are written under the current key from the moment the app runs with it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select

from app.crypto import FRAME, ID_BYTES
from app.models import Base, Call, Requester, SmsMessage
from app.services import audit
from app.services.actors import Actor
from app.services.platform import Platform

# Every encrypted column: (model, attribute, the associated data its ciphertexts are bound to).
ENCRYPTED: tuple[tuple[type[Base], str, str], ...] = (
    (Requester, "phone_enc", "requester.phone"),
    (Requester, "id_number_enc", "requester.id_number"),
    (Requester, "address_enc", "requester.address"),
    (Call, "caller_number_enc", "call.caller_number"),
    (Call, "caller_name_enc", "call.caller_name"),
    (SmsMessage, "phone_enc", "sms.phone"),
)
LEGACY = "legacy"  # ciphertexts written before key ids: no frame


@dataclass(frozen=True)
class Rewrapped:
    rows: int  # rows rewritten
    fields: int  # ciphertexts re-encrypted
    batches: int


def ciphertexts_by_key(platform: Platform) -> dict[str, int]:
    """How many stored ciphertexts each key id holds (`legacy` = unframed); empty once nothing is stored."""
    counts: Counter[str] = Counter()
    with platform.db.reading() as session:
        for model, attribute, _ in ENCRYPTED:
            column = getattr(model, attribute)
            head = func.substr(column, 1, 2 + ID_BYTES)
            for prefix, n in session.execute(select(head, func.count()).where(column.is_not(None))
                                             .group_by(head)):
                raw = bytes(prefix or b"")
                counts[raw[2:].hex() if raw[:2] == FRAME and len(raw) == 2 + ID_BYTES else LEGACY] += n
    return dict(counts)


def rewrap(platform: Platform, actor: Actor, *, batch_size: int = 500) -> Rewrapped:
    """Re-encrypt every ciphertext not under the current data key, one committed batch at a time."""
    cipher = platform.cipher
    rows = fields = batches = 0
    for model in dict.fromkeys(m for m, _, _ in ENCRYPTED):
        columns = [(a, aad) for m, a, aad in ENCRYPTED if m is model]
        last_id = 0
        while True:
            with platform.db.unit_of_work() as session:
                id_column = model.id  # type: ignore[attr-defined]
                batch = session.scalars(select(model).where(id_column > last_id).order_by(id_column)
                                        .limit(batch_size).with_for_update()).all()
                if not batch:
                    break
                for row in batch:
                    stale = [(a, aad) for a, aad in columns if not cipher.is_current(getattr(row, a))]
                    for attribute, aad in stale:
                        setattr(row, attribute, cipher.encrypt(cipher.decrypt(getattr(row, attribute), aad), aad))
                    rows += bool(stale)
                    fields += len(stale)
                last_id = batch[-1].id  # type: ignore[attr-defined]
                session.commit()
                batches += 1
    with platform.db.unit_of_work() as session:
        audit.record(session, platform, actor, "keys.rewrapped",
                     detail={"key_id": cipher.key_id, "rows": rows, "fields": fields})
        session.commit()
    return Rewrapped(rows=rows, fields=fields, batches=batches)
