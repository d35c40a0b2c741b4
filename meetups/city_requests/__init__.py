"""Fans asking for a meetup in their city."""
