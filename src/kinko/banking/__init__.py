"""The internet bank's own ledger: deposit accounts, transfers and bill payments.

Balances are whole yen; money moves atomically inside one database transaction.
"""
