"""Recommendations: implicit ALS, item-to-item CF, content similarity, popularity and a
hybrid blend, evaluated time-aware and published to the gold tables."""
