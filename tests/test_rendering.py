"""Every page opened from a mail and every mail body is a template (shared/rendering.py):
HTML autoescaped, text as written; no markup or mail text is put together in Python."""
from __future__ import annotations

import ast
import base64
import datetime
import hashlib
import re
from pathlib import Path

from shared import mail, pages, rendering

ROOT = Path(__file__).resolve().parent.parent
AT = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC)


def _code_strings(path: Path) -> list[str]:
    """The string constants of a module's code, its docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_markup_or_mail_text_is_written_in_python():
    for module in ("pages.py", "mail.py"):
        source = (ROOT / "shared" / module).read_text()
        assert "html.escape" not in source and "import html" not in source, module
    assert not [text for text in _code_strings(ROOT / "shared" / "pages.py") if re.search(r"<[a-z!/]", text)]
    # Each mail's body is set from a text template.
    calls = [node for node in ast.walk(ast.parse((ROOT / "shared" / "mail.py").read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "set_content"]
    assert len(calls) == 4
    assert all(ast.unparse(call.args[0]).startswith("rendering.text(") for call in calls)


def test_every_template_is_used():
    sources = {name: (ROOT / "shared" / name).read_text() for name in ("pages.py", "mail.py")}
    for folder, module in ((rendering.PAGES, "pages.py"), (rendering.MAILS, "mail.py")):
        templates = {path.name: path.read_text() for path in folder.iterdir()}
        for name in templates:
            used = f'"{name}"' in sources[module] or any(f'"{name}"' in text for text in templates.values())
            assert used or name == "page.css", name  # the style sheet is read by pages.py itself


def test_the_style_in_each_page_is_the_one_its_policy_admits():
    item = {"summary": "S", "type": "bug", "status": "new", "public_response": None, "decline_reason": None,
            "created_at": AT}
    policy = pages.SECURITY_HEADERS["Content-Security-Policy"]
    for page in (pages.status(item, []), pages.opt_out_form("a@example.com"), pages.opted_out("a@example.com"),
                 pages.link_expired(7)):
        [style] = re.findall(r"<style>(.*?)</style>", page, re.S)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"style-src 'sha256-{digest}'" in policy


def test_pages_escape_what_they_show_and_mails_keep_it_as_written():
    text = "Export <b>crashes</b> & 'quotes'"
    item = {"summary": text, "type": "bug_report", "status": "declined", "public_response": "Line one\n<i>two</i>",
            "decline_reason": "Out of scope", "created_at": AT}
    page = pages.status(item, [{"status": "in_progress", "at": AT}])
    assert "Export &lt;b&gt;crashes&lt;/b&gt; &amp; &#39;quotes&#39;" in page and "<b>" not in page
    assert "Line one<br>&lt;i&gt;two&lt;/i&gt;" in page and "(bug report)" in page
    assert "<li>In progress: 02 March 2026, 09:30 UTC</li>" in page
    assert "<strong>a&lt;b@example.com</strong>" in pages.opt_out_form("a<b@example.com")

    payload = {"notice": "declined", "to": "ada@example.com", "name": "Ada", "summary": text, "status": "declined",
               "reason": "Not <now>"}
    body = mail.compose(payload, 1, "https://x/opt-out", "https://x/follow", "<m@x>").get_content()
    assert f"Your feedback: {text}\n" in body and "\nWhy:\nNot <now>\n" in body and "&lt;" not in body
    assert body.startswith("Hello Ada,\n\nThe team has decided not to act on your feedback.\n")


def test_item_text_is_quoted_on_one_clipped_line_by_the_filter_team_mails_use():
    assert rendering.quoted("Two\nlines\u2028and \u202eturned") == "“Two lines and turned”"
    clipped = rendering.quoted("word " * 50)
    assert len(clipped) == rendering.QUOTED_LIMIT + 2 and clipped.endswith("…”")
    digest = {"to": "a@example.com", "name": "Ada", "day": "Monday 2 March", "due_today": [],
              "breached": [], "new": [{"id": "1", "priority": "high", "summary": "Two\nlines"}]}
    assert "- [high] “Two lines”  " in mail.compose_digest(digest, 1).get_content()
