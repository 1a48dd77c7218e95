"""Change over time from multi-raster inference results (issue 17): areas, change matrix, detections."""
