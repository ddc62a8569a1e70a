"""The password policy (NIST SP 800-63B section 5.1.1.2): long enough, not a common password, not the email;
no composition rules (a long phrase of plain words is a good password). (issue 21, item 4)"""
from functools import cache

from flask_babel import gettext

from backend.i18n import N_, number

MIN_LENGTH = 8
MAX_LENGTH = 256  # Argon2 hashes any length; this only bounds the work a request can ask for

# English here; the reader reads them through gettext
LENGTH_RULE = N_("Use at least %(min)s characters (and at most %(max)s).")
WRONG_LENGTH = LENGTH_RULE % {"min": MIN_LENGTH, "max": MAX_LENGTH}
TOO_COMMON = N_("This is one of the most common passwords; choose one that is harder to guess.")
IS_THE_EMAIL = N_("The password must not be your email address.")


@cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's 30,000 most common passwords, lower-case (built once per process, on the first password checked:
    its lists stay out of a worker that checks none)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def _is_the_email(password: str, email: str | None) -> bool:
    if not email:
        return False
    address = email.strip().lower()
    return password.strip().lower() in (address, address.partition("@")[0])


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Why this password is refused, in the reader's words for the 422; empty when it is fine."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return [gettext(LENGTH_RULE, min=number(MIN_LENGTH), max=number(MAX_LENGTH))]
    problems = []
    if password.lower() in common_passwords():
        problems.append(gettext(TOO_COMMON))
    if _is_the_email(password, email):
        problems.append(gettext(IS_THE_EMAIL))
    return problems
