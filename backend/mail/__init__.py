"""Email on the wire, shared by the reminders and the account emails: headers (headers.py), sending (transport.py)."""
