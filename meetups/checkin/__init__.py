"""Check-in at the door: staff scan QR tickets (online, or offline from a roster and synced later)."""
