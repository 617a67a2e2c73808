"""Web adapters of kinko: customer IB screens, the staff console and the JSON API."""
