"""The demo: the pipeline on a local broker with realistic generated events, and its department simulator."""
