"""The JSON API under /api/: its own app (``app``); the bank systems' operations (``v1``
handlers, ``models``, the ``route`` class), the token app's activation, the OpenAPI document."""
