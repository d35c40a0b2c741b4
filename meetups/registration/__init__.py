"""Fans register for a meetup, join its waiting list, cancel, and use invite codes."""
