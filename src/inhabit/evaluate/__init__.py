"""Metrics of both papers and ground-truth error measures."""
