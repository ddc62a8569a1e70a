"""Privacy: a family exports all its data (document.py, portability.py; archive.py adds its videos' files
in one zip) and deletes its account (deletion.py); what was deleted is purged after PURGE_AFTER_DAYS
(purge.py), videos' files before their rows, the clinician access log excepted. What the export leaves
out, and why, is written in document.py."""
