"""Risk control (issue 14): fraud scores for payment transactions, with reasons and a review queue."""
