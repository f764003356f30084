"""What the department client refuses, as values a person can act on.

Two kinds, told apart by who says no:

- `Refused`: the client knows in advance that the pipeline (or the broker's ACLs) would refuse it, and sends
  nothing: an unknown case, a transfer to an unknown department, an empty reason, a notice the case desk
  refuses from the unit's role, a group outside the principal's prefix. The command exits 2.
- `BrokerRefused`: the broker or the registry said no, or could not be reached: wrong password, no ACL for
  the topic, a delivery that failed. The command exits 1.

Every error has a stable `reason` (tests and systems match on it) and a message that names the case, the
unit, the field and what to do.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # known in advance (Refused)
    UNKNOWN_CASE = "unknown_case"  # the unit never received a copy of this case
    CASE_NOT_OPEN = "case_not_open"  # the case was released from the unit, or the unit closed it
    UNKNOWN_DEPARTMENT = "unknown_department"  # not in config/departments.yaml
    TRANSFER_TO_ITSELF = "transfer_to_itself"
    MISSING_TEXT = "missing_text"  # an empty reason or resolution
    NO_PARTNERS = "no_partners"  # joint enforcement naming no other department
    INVALID_EXTENSION = "invalid_extension"  # not a whole number of days in 1..MAX_EXTENSION_DAYS
    NOT_THIS_UNIT = "not_this_unit"  # a unit the logged-in principal cannot speak for (forged_unit)
    NOT_FOR_ROLE = "not_for_role"  # the case desk refuses this kind from the unit's role
    INPUT_CONTRACT = "input_contract"  # the input contract would dead-letter it (too long, bad time, ...)
    NOT_A_UNIT = "not_a_unit"  # the principal is neither a department nor a grid
    GROUP_NOT_ALLOWED = "group_not_allowed"  # a consumer group outside the principal's prefix
    # said by the broker or the registry (BrokerRefused)
    AUTHENTICATION = "authentication"
    UNREACHABLE = "unreachable"
    NOT_AUTHORISED = "not_authorised"
    REGISTRY = "registry"
    DELIVERY = "delivery"


class ClientError(Exception):
    """A department client error: `reason` says what kind, the message what to do."""

    exit_code = 1

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def message(self) -> str:
        return str(self)


class Refused(ClientError):
    """Refused before anything was sent: the client knows the pipeline or the broker would refuse it."""

    exit_code = 2


class BrokerRefused(ClientError):
    """The broker or the registry refused, or could not be reached."""

    exit_code = 1
