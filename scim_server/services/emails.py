"""Email and domain normalisation (docs/lifecycle.md §5.1 item 12): lower-case, NFC, IDNA domain.

No provider-specific folding: ``a.b+c@gmail.com`` stays itself.
"""

from __future__ import annotations

import unicodedata

from scim_server.scim.errors import quoted
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import InvalidInput
from scim_server.services.errors import ProvisioningError

# The width of users.email_normalized and invitations.email_normalized (storage/models.py).
NORMALIZED_EMAIL_MAX = 320

# Public mail providers: nobody can claim them, so they never grant JIT or auto-linking.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "zoho.com",
        "qq.com",
        "163.com",
        "126.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "tuta.io",
        "naver.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "t-online.de",
    }
)


def normalize_domain(text: str) -> str:
    """``Exämple.COM.`` -> ``xn--exmple-cua.com``; raises ``domain_invalid``."""
    cleaned = unicodedata.normalize("NFC", text.strip().rstrip(".")).lower()
    try:
        ascii_form = cleaned.encode("idna").decode("ascii")
    except UnicodeError:
        raise ProvisioningError(
            ErrorCode.DOMAIN_INVALID, f"{quoted(text)} is not a domain name."
        ) from None
    labels = ascii_form.split(".")
    if len(labels) < 2 or not all(labels) or len(ascii_form) > 253:
        raise ProvisioningError(ErrorCode.DOMAIN_INVALID, f"{quoted(text)} is not a domain name.")
    return ascii_form


def normalize_email(text: str) -> str:
    """Lower-case and NFC the local part, IDNA the domain; raises ``email_invalid``."""
    if not isinstance(text, str) or text.count("@") != 1:
        raise ProvisioningError(ErrorCode.EMAIL_INVALID, "Not an email address.")
    local, domain = text.strip().split("@")
    local = unicodedata.normalize("NFC", local).lower()
    if not local:
        raise ProvisioningError(ErrorCode.EMAIL_INVALID, "Not an email address.")
    try:
        return f"{local}@{normalize_domain(domain)}"
    except ProvisioningError:
        raise ProvisioningError(ErrorCode.EMAIL_INVALID, "Not an email address.") from None


def canonical_email(text: str) -> str:
    """The lookup key of any email a client sends: ``normalize_email`` when it is an
    address, else its NFC lower-case form (SCIM does not promise addresses are valid).

    One key on every path (SCIM, JIT, invitations, member search), so the NFC and NFD
    spellings, or the Unicode and IDNA domains, of one address find one person. IDNA can
    lengthen a domain: a key wider than its column is refused rather than truncated.
    """
    try:
        key = normalize_email(text)
    except ProvisioningError:
        key = unicodedata.normalize("NFC", text.strip()).lower()
    if len(key) > NORMALIZED_EMAIL_MAX:
        raise InvalidInput(
            f"The email address is longer than {NORMALIZED_EMAIL_MAX} characters "
            "once its domain is IDNA-encoded."
        )
    return key


def domain_of(email: str) -> str:
    return email.rpartition("@")[2]


def is_public_mail_domain(domain: str) -> bool:
    return domain in PUBLIC_MAIL_DOMAINS
