"""What may be shown of an identifier: the few characters that let a person recognise it.

Pure. One rule, ``mask``; customer notices and the logs print serials and contract IDs
through it, so a reader sees the same masked form in a mail and in a log line.
"""

from __future__ import annotations

__all__ = ["MIN_HIDDEN", "mask", "mask_contract_id", "mask_serial"]

#: At least this many characters are always hidden; a value too short for that is
#: hidden whole.
MIN_HIDDEN = 4


def mask(value: str, *, head: int = 0, tail: int = 4) -> str:
    """``value`` with all but its first ``head`` and last ``tail`` characters starred, its
    length kept: ``mask("1000000001", head=2, tail=4) == "10****0001"``."""
    if head < 0 or tail < 0:
        raise ValueError("head and tail must not be negative")
    hidden = len(value) - head - tail
    if hidden < MIN_HIDDEN:
        return "*" * len(value)
    return value[:head] + "*" * hidden + value[len(value) - tail:]


def mask_contract_id(contract_id: str) -> str:
    """A contract ID (契約者ID) for logs: "1000000001" becomes "10****0001"."""
    return mask(contract_id, head=2, tail=4)


def mask_serial(serial: str) -> str:
    """Only the last four digits, in the serial's display groups: "**** **** 9012"."""
    masked = mask(serial, tail=4)
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))
