"""Where the console lives: the path its pages sit under, for whatever links to it (its
own pages, and mail that points a person at an item) without importing its web layer."""
from __future__ import annotations

BASE = "/console"
GUIDE_ADDRESS = "/admin/feedback"  # the guide's address of the admin interface leads to the console
