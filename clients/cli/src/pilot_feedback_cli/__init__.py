"""pilot-feedback: send and triage Pilot Feedback from the terminal."""

__version__ = "0.1.0"
