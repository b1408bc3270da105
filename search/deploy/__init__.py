"""Shipping a retrained model: export to the formats people ship, their runtimes, and predict."""
