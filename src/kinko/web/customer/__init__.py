"""The customer internet-banking screens: login, the OTP flows, banking and settings."""
