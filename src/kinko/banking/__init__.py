"""The internet bank's own ledger, as pure rules: accounts, what the customer typed, drafts,
fees and receipts. No database here: ``services.payments`` books through the ledger port,
which ``kinko.store.ledger`` implements.
"""
