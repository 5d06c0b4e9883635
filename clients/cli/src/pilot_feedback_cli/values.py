"""The values the API takes for its enumerated fields.

Generated from shared/choices.py by `python manage.py client-values`: change them there.
"""
FEEDBACK_TYPES = ("bug", "feature", "performance", "docs", "ux", "other")
PRIORITIES = ("low", "medium", "high", "urgent")
STATUSES = ("new", "acknowledged", "in_review", "planned", "in_progress", "completed", "declined", "duplicate")
SOURCES = ("web_app", "cli", "ide_plugin", "email", "api", "other")
SLA_STATUSES = ("on_track", "due_soon", "breached", "met")
