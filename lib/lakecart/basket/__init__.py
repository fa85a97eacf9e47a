"""Basket analysis (issue 13): FP-growth rules, bought-together lists, basket completion."""
