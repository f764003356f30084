"""Geometry for routing: coordinate datums, the point-in-grid index, synthetic fine grids."""
