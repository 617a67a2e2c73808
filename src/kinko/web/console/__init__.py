"""The bank staff console at /console: lost phones, uninstalled apps, lockouts, the audit trail."""
