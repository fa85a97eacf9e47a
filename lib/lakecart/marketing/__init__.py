"""Marketing (issue 16): uplift targeting for campaigns, promotion effects."""
