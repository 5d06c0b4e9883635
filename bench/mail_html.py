#!/usr/bin/env python3
"""HTML mail as text: CPU seconds of each candidate converter on hostile and normal inputs.

Each run is a child process with a time limit, so a quadratic case prints "> LIMIT" instead
of hanging. Candidates: the standard library's html.parser (what html2text builds on),
html2text, inscriptis (lxml), selectolax (lexbor: parsing and its C text()), and
shared.mail_body.html_text (lxml). Run it with an interpreter that also has html2text,
inscriptis and selectolax installed (they are not the project's dependencies); a missing
candidate says so. Imports are not timed.

    python bench/mail_html.py [--size-kb 1024] [--limit 20]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HOSTILE = {
    "'<a ' repeated": "'<a ' * (SIZE // 3)",
    "'<![' repeated": "'<![' * (SIZE // 3)",
    "'<div>' nested": "'<div>' * (SIZE // 5)",
    "'<b>' nested": "'<b>' * (SIZE // 3)",
    "'<table>' nested": "'<table>' * (SIZE // 7)",
    "'<a href=x>x' nested": "'<a href=x>x' * (SIZE // 11)",
    "'<p>x' paragraphs": "'<p>x' * (SIZE // 4)",
    "'<b><p>x</b></p>' misnested": "'<b><p>x</b></p>' * (SIZE // 15)",
    "'<!--' unclosed": "'<!--' * (SIZE // 4)",
    "'<blockquote>' nested": "'<blockquote>x' * (SIZE // 13)",
    "distinct '<b id=N>' then paragraphs": "''.join(f'<b id={i}>' for i in range(20000)) + '<p>x</p>' * (SIZE // 16)",
}
NORMAL = {
    "newsletter (tables, links)": "('<table><tr><td><a href=\"https://example.com/a\">Read more</a> about the'"
                                  " ' <b>release</b></td><td>2026</td></tr></table><p>Paragraph &amp; text.</p>')"
                                  " * (SIZE // 130)",
    "reply with a quote": "'<div>Thanks, fixed.</div><div class=gmail_quote>On Mon, 2 Mar 2026, Ana"
                          " &lt;ana@example.com&gt; wrote:<blockquote>' + '<p>Quoted line.</p>' * (SIZE // 20)"
                          " + '</blockquote></div>'",
}
# name: (imports, timed code)
CANDIDATES = {
    "html.parser (stdlib)": ("import html.parser", "p = html.parser.HTMLParser(); p.feed(MARKUP); p.close()"),
    "html2text": ("import html2text", "html2text.html2text(MARKUP)"),
    "inscriptis": ("import inscriptis", "inscriptis.get_text(MARKUP)"),
    "selectolax (lexbor)": ("from selectolax.lexbor import LexborHTMLParser",
                            "t = LexborHTMLParser(MARKUP); t.root and t.root.text()"),
    "mail_body.html_text (lxml)": (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
                                   "from shared import mail_body; import lxml.etree",
                                   "mail_body.html_text(MARKUP)"),
}
RUN = """
import time
SIZE = {size}
MARKUP = {markup}
{imports}
start = time.process_time()
{code}
print(f"{{time.process_time() - start:.3f}}")
"""


def measure(candidate: tuple[str, str], markup: str, size: int, limit: float) -> str:
    imports, code = candidate
    program = RUN.format(size=size, markup=markup, imports=imports, code=code)
    try:
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return f"> {limit:.0f} s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return "not installed" if "ModuleNotFoundError" in last else last[:40]
    return f"{float(done.stdout.strip()):.3f} s"


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--size-kb", type=int, default=1024)
    options.add_argument("--limit", type=float, default=20.0, help="seconds before a run is stopped")
    args = options.parse_args()
    size = args.size_kb * 1024
    print(f"CPU seconds to convert {args.size_kb} KB of HTML (stopped after {args.limit:.0f} s)\n")
    for title, inputs in (("hostile", HOSTILE), ("normal", NORMAL)):
        print(f"{title:40}" + "".join(f"{name[:26]:>28}" for name in CANDIDATES))
        for label, markup in inputs.items():
            row = [measure(candidate, markup, size, args.limit) for candidate in CANDIDATES.values()]
            print(f"{label:40}" + "".join(f"{cell:>28}" for cell in row), flush=True)
        print()


if __name__ == "__main__":
    main()
