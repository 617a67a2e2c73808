"""The pure core of kinko: OTP algorithms, the token lifecycle and verification rules.

Nothing here imports a web framework or a database, and nothing reads the clock.
"""
