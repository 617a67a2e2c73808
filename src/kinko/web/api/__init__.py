"""The JSON API under /api/v1: token activation now, the bank systems' API later."""
