"""Compute accuracy (issue 20): a result layer or classified raster scored against ground truth."""
