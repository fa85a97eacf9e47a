"""Customer intelligence: RFM segments, clusters, churn, CLV and purchase propensity."""
