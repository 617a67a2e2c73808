"""Use cases of kinko, one module each, over the storage interfaces in ``ports``.

Each service owns its transaction boundaries; see ``context.Context`` for what it is given.
"""
