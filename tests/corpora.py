"""Real mails written elsewhere, as the test data of packages on PyPI and npm, pinned by hash
(tests/corpora/requirements.txt, tests/corpora/package-lock.json) and unpacked by `make test`:

- talon (Mailgun's reply extractor): replies of twelve mail programs with the reply alone
  beside each, and HTML replies of Outlook, Gmail, Thunderbird, Hotmail, Yandex and others;
- flufl.bounce (GNU Mailman's bounce detector): bounces of AOL, Exim, GroupWise, Exchange,
  Postfix, qmail, Sendmail, Yahoo and others, with a read receipt and an auto-reply;
- bounced: the bounces of Ruby's bounce_email, with an abuse report and auto-replies;
- baunsu (npm): bounces of Gmail, Hotmail, Yahoo, AOL, AT&T, Exchange and Postfix, and an
  auto-reply.

Which mail is what is the packages' own word (their tests), except where said."""
from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent / "corpora"


def _folder(pattern: str) -> Path:
    found = sorted(HERE.glob(pattern))
    if len(found) != 1:
        pytest.fail(f"The real mails in tests/corpora/{pattern} are missing: `make test` downloads them.",
                    pytrace=False)
    return found[0]


def talon() -> Path:
    return _folder("unpacked/talon-*/tests/fixtures")


def _flufl() -> Path:
    return _folder("unpacked/flufl_bounce-*/tests/data")


def _bounced() -> Path:
    return _folder("unpacked/bounced-*/src/bounced/tests")


def _baunsu() -> Path:
    return _folder("node_modules/baunsu/tests/emails")


# Not bounces, though among them: a person's Outlook reply (flufl.bounce's groupwise_03), and
# auto-replies and reports, below.
FLUFL_NOT_BOUNCES = {"groupwise_03.txt", "qmail_08.txt", "simple_38.txt"}
BOUNCED_NOT_BOUNCES = {"bounce-auto-respond.eml"}


def bounces(package: str) -> list[Path]:
    """The bounces a package holds."""
    if package == "flufl.bounce":
        return [p for p in sorted(_flufl().glob("*.txt")) if p.name not in FLUFL_NOT_BOUNCES]
    if package == "bounced":  # bounce_email's, then its own
        found = [*sorted(_bounced().glob("bounce_email/bounces/*.eml")), *sorted(_bounced().glob("bounces/*.eml"))]
        return [p for p in found if p.name not in BOUNCED_NOT_BOUNCES]
    if package == "baunsu":
        return sorted(_baunsu().glob("bounce_*.txt"))
    raise ValueError(package)


def reports() -> list[Path]:
    """An ARF abuse report (RFC 5965) of a mail sender's feedback loop, and a read receipt (RFC
    8098) saying a mail was rejected; the packages call both bounces."""
    return [_bounced() / "bounce_email/bounces/bounce-auto-respond.eml", _flufl() / "simple_38.txt"]


def auto_replies() -> list[Path]:
    """A vacation notice (X-Autoreply), an Earthlink challenge and a Spanish "thank you" notice
    (Precedence: auto_reply)."""
    return [_bounced() / "bounce_email/non_bounces/tt_1234211024.eml", _baunsu() / "auto_earthlink.txt",
            _flufl() / "qmail_08.txt"]


def written_by_people() -> list[Path]:
    """An Outlook 2003 reply asking for a read receipt, and a Gmail mail."""
    return [_flufl() / "groupwise_03.txt", _baunsu() / "ordinary_gmail.txt"]
