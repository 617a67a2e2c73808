"""kinko-token: the customer's software token app (client only).

It activates a token against the kinko server, keeps the seed encrypted on the device and
shows the one-time password with the serial under it, in a terminal UI or on the command line.
"""

__version__ = "0.1.0"
