"""Persistence for kinko: the database schema, repositories and the sealed-seed box."""
