"""Pages that combine capabilities: the conversation page, accounts, settings, errors,
health and the stream."""
