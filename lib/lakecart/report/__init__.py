"""Analytics marts and the HTML report (issue 17)."""
