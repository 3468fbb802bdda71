"""Phone numbers: validated and normalised with libphonenumber, masked for everyone else."""

from __future__ import annotations

import phonenumbers
from civicgrid_shared.errors import SafeError


class InvalidPhone(SafeError):
    pass


def normalise(raw: str, region: str = "CN") -> str:
    """E.164 form of a Chinese (or international) number, or InvalidPhone."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("contact_phone: not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("contact_phone: not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str) -> str:
    """138****1234: the national number with all but the first 3 and last 4 digits hidden."""
    parsed = phonenumbers.parse(e164, None)
    national = str(parsed.national_number)
    if len(national) <= 7:
        return "*" * (len(national) - 2) + national[-2:]
    return national[:3] + "*" * (len(national) - 7) + national[-4:]


def mask_in_text(text: str, region: str = "CN") -> str:
    """Mask every phone number a citizen wrote into free text (138****1234).

    People often type their number into the description; it must not leave intake.
    """
    leniency = phonenumbers.Leniency.POSSIBLE
    matches = list(phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency))
    for match in reversed(matches):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        text = text[:match.start] + mask(e164) + text[match.end:]
    return text
