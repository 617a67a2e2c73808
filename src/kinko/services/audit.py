"""The audit trail's use cases: search it, export it as CSV, verify its chain, seal what waits.

The JSON API, the staff console, the web server's background sealer and the CLI all come
here; the trail itself (``AuditTrail``: the store's events, chain and MACs) is wired by
``kinko.bootstrap`` as ``Kinko.audit_trail``. Nothing here reads or changes an event but
through that port; the CSV is presentation of what the port returns, made here, once.

The API, for callers (stable):

- ``search(trail, filters, limit=, before_id=) -> AuditPage``: newest first, page by page.
- ``csv_rows(trail, filters)`` / ``export_csv(trail, filters, out) -> int``: oldest first.
- ``verify(trail, seal=True) -> ChainReport``: what ``kinko audit verify`` prints.
- ``seal_pending(trail) -> int`` (the server's background pass, never waits) and
  ``seal_all(trail) -> int`` (a CLI command before it exits, waits for other sealers).
  Both raise ``AuditChainError`` when the stored chain is damaged; ``verify`` says how.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TextIO

from kinko.services.ports import (
    AuditChainError,
    AuditFilter,
    AuditPage,
    AuditTrail,
    ChainReport,
    StoredAuditEvent,
)

__all__ = [
    "CSV_HEADER", "MAX_PAGE", "AuditChainError", "AuditFilter", "AuditPage", "AuditTrail",
    "ChainReport", "StoredAuditEvent", "csv_cell", "csv_rows", "export_csv", "seal_all",
    "seal_pending", "search", "verify",
]

#: The largest page ``search`` returns.
MAX_PAGE = 1000
#: The columns of the CSV export, in order: every stored field of an event, so that an
#: exported chain can be re-hashed (and its MACs checked, with the key) outside kinko.
CSV_HEADER = (
    "id", "seq", "occurred_at", "action", "outcome", "actor", "channel", "contract_id",
    "serial", "reason", "prev_hash", "hash", "mac_key_id", "mac_nonce", "mac",
)
#: A cell starting with one of these is a formula to spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def search(
    trail: AuditTrail, filters: AuditFilter | None = None, *, limit: int = 100,
    before_id: int | None = None,
) -> AuditPage:
    """Events matching every given filter, newest first, at most ``limit`` (1 to
    ``MAX_PAGE``); the next page is ``before_id=page.next_before_id``."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1 to {MAX_PAGE}")
    return trail.search(filters or AuditFilter(), limit=limit, before_id=before_id)


def csv_rows(
    trail: AuditTrail, filters: AuditFilter | None = None, *, batch: int = 1000
) -> Iterator[list[str]]:
    """The header, then one row per matching event, oldest first, read ``batch`` at a time.

    Times are ISO 8601 in UTC; an empty cell is a missing value; a text cell that a
    spreadsheet would take for a formula is prefixed with ``'`` (no event carries a secret,
    so nothing is masked).
    """
    yield list(CSV_HEADER)
    for event in trail.scan(filters or AuditFilter(), batch=batch):
        yield [csv_cell(getattr(event, name)) for name in CSV_HEADER]


def export_csv(trail: AuditTrail, filters: AuditFilter | None, out: TextIO) -> int:
    """Write ``csv_rows`` to ``out`` (opened with ``newline=""``); how many events."""
    writer = csv.writer(out)
    lines = csv_rows(trail, filters)
    writer.writerow(next(lines))
    count = 0
    for line in lines:
        writer.writerow(line)
        count += 1
    return count


def csv_cell(value: object) -> str:
    """One value as a CSV cell: empty for none, UTC ISO 8601 for a time, and text a
    spreadsheet would run as a formula defused with a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def verify(trail: AuditTrail, *, seal: bool = True) -> ChainReport:
    """Seal what is pending (unless ``seal`` is false), then check the whole chain: every
    hash, every MAC whose key is held, the order, the head, and every unsealed event the
    sealer refuses. Never raises for damage: the report names it."""
    return trail.verify(seal=seal)


def seal_pending(trail: AuditTrail) -> int:
    """One sealing pass, as the server runs every couple of seconds: returns 0 at once if
    another sealer is at work (it, or the next pass, seals the rest). Raises
    ``AuditChainError`` if the chain cannot be extended; log it, never fail a request."""
    return trail.seal_pending()


def seal_all(trail: AuditTrail) -> int:
    """Seal every event committed so far, waiting for any sealer at work; how many. What a
    CLI command does before it exits, so its events need no server to be sealed. Raises
    ``AuditChainError`` if the chain cannot be extended."""
    return trail.seal_all()
