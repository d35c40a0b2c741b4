"""Signed ticket codes, their QR images and the ticket page."""
