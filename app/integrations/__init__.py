"""Integrations with the outside: outbound webhooks and ticketing tools."""
