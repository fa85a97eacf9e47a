"""Demand forecasting with gradient-boosted trees, its baselines and backtest, and the
inventory plan it drives."""
