"""What is read out of a mail: the reply alone (measured on real replies, tests/corpora.py),
the right body part and charset, every attachment, and HTML as text in linear time."""
from __future__ import annotations

import email
import email.policy
import re
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import corpora
import pytest
from helpers import sql

from shared import mail_body, mail_intake, tenants


def _read(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _squeezed(text: str) -> str:
    return re.sub(r"\s", "", text)


# --- the reply alone


def test_talon_standard_replies_come_out_as_their_reply_alone():
    """Talon's twelve replies from as many mail programs: all but Sparrow's exact. Talon keeps
    Sparrow's signature in its reply; here the signature after `-- ` is left out."""
    failed = {}
    replies = sorted((corpora.talon() / "standard_replies").glob("*.eml"))
    for path in replies:
        expected_file = path.with_name(path.stem + "_reply_text")
        expected = expected_file.read_text().strip() if expected_file.exists() else "Hello"
        got = mail_body.text(_read(path))
        if got != expected:
            failed[path.name] = got
    print(f"{len(replies) - len(failed)} of {len(replies)} exact; not exact: {failed}")
    assert len(replies) == 12
    assert failed == {"sparrow.eml": "Hello"}


@pytest.mark.parametrize("name", ["gmail", "hotmail", "mail_ru", "ms_outlook_2003", "ms_outlook_2007",
                                  "ms_outlook_2010", "thunderbird", "windows_mail", "yandex_ru"])
def test_talon_html_replies_leave_the_quoted_mail_out(name):
    html = (corpora.talon() / "html_replies" / f"{name}.html").read_text(encoding="utf-8")
    assert _squeezed(mail_body.own_words(mail_body.html_text(html))) == _squeezed("Hi. I am fine.\n\nThanks,\nAlex")


def test_talon_outlook_quote_blocks_and_a_quote_sharing_the_replys_block_are_left_out():
    """Outlook for Mac's quoted section, a header block after a rule inside the reply's own
    block (the reply's last line kept), and a reply whose quote shares its HTML block."""
    fixtures = corpora.talon()
    assert mail_body.own_words(mail_body.html_text((fixtures / "OLK_SRC_BODY_SECTION.html").read_text())) == "Reply"
    by_rule = mail_body.own_words(mail_body.html_text((fixtures / "reply-separated-by-hr.html").read_text()))
    assert by_rule == "Hi\nthere\nBob"
    shared = mail_body.text(_read(fixtures / "reply-quotations-share-block.eml"))
    assert shared.startswith("Hi Katharine.") and shared.endswith("Joe XXX") and "From" not in shared


@pytest.mark.parametrize(("body", "reply"), [
    ("Fixed on my side.\n\n\n ------------------------------\n\n*From:* Team [mailto:feedback@example.com]\n"
     "*Sent:* Monday, March 2, 2026 10:00 AM\n*To:* ana@example.com\n*Subject:* Export\n\nDid it work?",
     "Fixed on my side."),
    ("Fixed on my side.\n________________________________________\nFrom: Team [feedback@example.com]\n"
     "Sent: Monday, 2 March 2026 10:00\nTo: Ana\nSubject: Export\n\nDid it work?", "Fixed on my side."),
    ("Fixed on my side.\n\n*From:* Team [mailto:feedback@example.com]\n*Sent:* Monday, March 2, 2026 10:00 AM\n"
     "*To:* ana@example.com\n*Subject:* Export\n\nDid it work?", "Fixed on my side."),
    ("Fixed on my side.\n\nFrom: Team [mailto:feedback@example.com]\nSent: Monday, March 2, 2026 10:00 AM\n"
     "To: Ana\nSubject: Re: Export\n\nA reply\n\nOn Mar 2, 2026, at 9:00 AM, Ana <ana@example.com> wrote:\nIt fails.",
     "Fixed on my side."),
    ("Fixed on my side.\n\n\n\nOn Mon, Mar 2, 2026 at 10:00 AM Team <feedback@example.com>\nwrote:\n\n\nDid it work?",
     "Fixed on my side."),
])
def test_outlook_and_gmail_header_blocks_are_left_out(body, reply):
    """The shapes Outlook and Gmail give a quoted mail in plain text: a rule then starred
    headers, a rule right under the reply, headers alone, and an attribution wrapped."""
    assert mail_body.own_words(body) == reply


def test_wrapped_attributions_and_lines_that_only_look_like_one():
    wrapped = ("It renders now.\n\nSent from my phone\n\nOn Mar 2, 2026, at 10:00 AM, Team Feedback\n"
               "<feedback@example.com>\nwrote:\n\n> Does it render?")
    assert mail_body.own_words(wrapped) == "It renders now.\n\nSent from my phone"
    # "On your server you can run:" is the reply's own first line, not an attribution.
    own = mail_body.own_words("On your server you can run:\n\n     telnet 127.0.0.1 25\n\nThat tells.\n\n"
                              "On 2 Mar 2026, at 10:00, Ana wrote:\n\n> Mail stopped.")
    assert own == "On your server you can run:\n\n     telnet 127.0.0.1 25\n\nThat tells."
    one = mail_body.own_words("Thanks, this helps.\n\nOne question left.\n\nOn Mar 2, 2026, at 11:55 PM, Ana wrote:\n\n"
                              "> A better query.")
    assert one == "Thanks, this helps.\n\nOne question left."


def test_the_senders_own_quoted_lines_dividers_and_bottom_posts_are_kept():
    code = "The prompt shows:\n> ls -la\n> total 0\n\nthen nothing."
    assert mail_body.own_words(code) == code
    assert mail_body.own_words("Still broken.\n\n> Did the fix work?\n>\n") == "Still broken."
    divider = "Steps:\n--\nopen, export\n--\nIt crashes."
    assert mail_body.own_words(divider) == divider
    assert mail_body.own_words("It crashes.\n\n-- \nAna\nACME Corp") == "It crashes."
    bottom = "On Mon, 2 Mar 2026 at 10:00, Team <feedback@example.com> wrote:\n> Did it work?\n\nNo, still broken."
    assert mail_body.own_words(bottom) == "No, still broken."


def test_forwards_are_kept_whole():
    forward = ("See below.\n\n---------- Forwarded message ---------\nFrom: Bo <bo@example.com>\n"
               "Date: Mon, 2 Mar 2026\nSubject: Export\nTo: Ana <ana@example.com>\n\nExport crashes.")
    assert mail_body.own_words(forward) == forward
    outlook = "FYI\n\nFrom: Bo <bo@example.com>\nSent: Monday\nTo: Ana\nSubject: Export\n\nExport crashes."
    assert mail_body.own_words(outlook) == "FYI"
    assert mail_body.own_words(outlook, forwarded=True) == outlook
    message = EmailMessage()
    message["Subject"] = "Fwd: Export"
    message.set_content(outlook)
    assert mail_body.text(message) == outlook


# --- the right body


def test_an_empty_text_part_gives_way_to_the_html_part():
    message = EmailMessage()
    message.set_content("  \n")
    message.add_alternative("<p>Export <b>crashes</b> on <a href='https://app.example.com/x'>this page</a>.</p>",
                            subtype="html")
    assert mail_body.text(message) == "Export crashes on this page (https://app.example.com/x)."


def _forward_as_attachment(note: str) -> EmailMessage:
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "Bo <bo@example.com>", "Export crashes"
    inner.set_content("It fails at 10 MB.")
    inner.add_attachment(b"x" * 321, maintype="image", subtype="png", filename="inner.png")
    outer = EmailMessage()
    outer["Subject"] = "Fwd: Export crashes"
    outer.set_content(note)
    outer.add_attachment(inner)
    return outer


def test_a_forwarded_message_is_read_and_its_files_listed():
    outer = _forward_as_attachment("See the customer's mail.")
    assert mail_body.text(outer) == ("See the customer's mail.\n\n---------- Forwarded message ----------\n"
                                     "From: Bo <bo@example.com>\nSubject: Export crashes\n\nIt fails at 10 MB.")
    assert mail_body.attachments(outer) == [{"name": "inner.png", "type": "image/png", "size": 321}]
    alone = _forward_as_attachment("")
    assert mail_body.text(alone).endswith("Subject: Export crashes\n\nIt fails at 10 MB.")


def test_a_mail_that_is_one_file_lists_it_and_nested_files_have_their_names():
    single = EmailMessage()
    single["Subject"] = "scan"
    single.set_content(b"%PDF-1.7" + b"0" * 100, maintype="application", subtype="pdf", filename="scan.pdf")
    assert mail_body.attachments(single) == [{"name": "scan.pdf", "type": "application/pdf", "size": 108}]
    assert mail_body.text(single) == ""

    inner = EmailMessage()
    inner.add_attachment(b"a" * 10, maintype="text", subtype="csv", filename="a.csv")
    inner.add_attachment(b"b" * 20, maintype="image", subtype="jpeg", filename="b.jpg")
    outer = EmailMessage()
    outer.set_content("Two files.")
    outer.make_mixed()
    outer.attach(inner)
    assert [p.get_content_type() for p in outer.walk()] == ["multipart/mixed", "text/plain", "multipart/mixed",
                                                            "text/csv", "image/jpeg"]
    assert mail_body.attachments(outer) == [{"name": "a.csv", "type": "text/csv", "size": 10},
                                            {"name": "b.jpg", "type": "image/jpeg", "size": 20}]


@pytest.mark.parametrize(("label", "raw", "text"), [
    ("gb2312", "𠀀 and 中文".encode("gb18030"), "𠀀 and 中文"),  # outside GB2312 and GBK: GB18030 only
    ("ks_c_5601-1987", "똠방각하".encode("cp949"), "똠방각하"),  # outside EUC-KR: its windows-949 extension
    ("iso-8859-1", b"\x80 5 \x93ok\x94", "€ 5 “ok”"),  # read as windows-1252
    ("us-ascii", b"caf\xe9", "café"),
    ("shift_jis", "①".encode("cp932"), "①"),
    ("no-such-charset", "naïve".encode(), "naïve"),
])
def test_charset_labels_are_read_as_browsers_read_them(label, raw, text):
    part = email.message_from_bytes(b"Content-Type: text/plain; charset=" + label.encode()
                                    + b"\nContent-Transfer-Encoding: 8bit\n\n" + raw, policy=email.policy.default)
    assert mail_body.decoded(part) == text


# --- HTML as text


def test_html_keeps_links_blocks_and_marks_quotes():
    html = ("<html><head><title>t</title><style>p{}</style></head><body><p>See <a href='https://x.example/a'>the"
            " report</a> and <a href='https://x.example/b'>https://x.example/b</a>, or"
            " <a href='mailto:ana@example.com'>Ana</a>.</p><div>Line one<br>Line two<br><br>After a gap</div>"
            "<table><tr><td>cell 1</td><td>cell 2</td></tr></table><pre>  code\n    indented</pre>"
            "<blockquote>Quoted<blockquote>Deeper</blockquote></blockquote><script>alert(1)</script></body></html>")
    assert mail_body.html_text(html) == (
        "See the report (https://x.example/a) and https://x.example/b, or Ana (ana@example.com).\n\n"
        "Line one\nLine two\n\nAfter a gap\n\ncell 1 cell 2\n\n  code\n    indented\n\n> Quoted\n>\n> > Deeper")


HOSTILE = {"<a ": 3, "<![": 3, "<div>": 5, "<b>": 3, "<table>": 7, "<a href=x>x": 11, "<p>x": 4,
           "<b><p>x</b></p>": 15, "<!--": 4, "<blockquote>x": 13, "&#": 2}


@pytest.mark.parametrize("unit", sorted(HOSTILE))
def test_a_megabyte_of_hostile_html_is_text_within_seconds(unit):
    """A bound to catch quadratic blowups (bench/mail_html.py prints the real figures)."""
    markup = unit * (1024 * 1024 // HOSTILE[unit])
    started = time.process_time()
    text = mail_body.own_words(mail_body.html_text(markup))
    assert time.process_time() - started < 5, unit
    assert isinstance(text, str)


def test_a_megabyte_of_hostile_text_is_read_within_seconds():
    for unit in ("a\n", "> \n", "From: a\n", "On 1.2.2026 a@b wrote:\n", "x <\n", "-- \n"):
        body = unit * (1024 * 1024 // len(unit))
        started = time.process_time()
        mail_body.own_words(body)
        assert time.process_time() - started < 5, unit


def test_markup_no_parser_can_read_gives_empty_text():
    assert mail_body.html_text("") == ""
    assert mail_body.html_text("<![" * 10) == ""
    assert mail_body.html_text("<!-- never closed") == ""


def test_a_hostile_html_mail_becomes_an_item_not_a_retry(env, database_url):
    env(INTAKE_DOMAIN="in.example.com")
    tenant = tenants.create_tenant(f"Hostile {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    for subject, markup in (("cdata", "<p>Export crashes</p>" + "<![" * 20_000), ("anchors", "<a " * 16_000)):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "ana@customer.example", address, subject
        message["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
        message.set_content(markup, subtype="html")
        assert mail_intake.receive(message.as_bytes(), [address]).outcome == "created"
    rows = sql(database_url, "SELECT summary, description FROM feedback WHERE tenant_id = :t ORDER BY summary",
               t=tenant["id"])
    assert rows == [["anchors", ""], ["cdata", "Export crashes"]]
