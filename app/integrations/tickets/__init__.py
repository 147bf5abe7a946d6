"""Ticketing tools a swap can come from (Jira Service Management, Zendesk, ServiceNow): posting
comments back on the ticket."""
