"""Text intelligence (issue 15): review sentiment and customer-service intents."""
