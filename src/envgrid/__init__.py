"""envgrid: the event pipeline for city environmental-supervision grids (Wenzhou 2016 plan) on Kafka.

Subpackages: `domain` (the pure core), `streams` (the worker), `connectors` (topics, schemas, wire format,
command-line tools), `simulator` (generated traffic), `demo` (the main job and its department simulator),
`localcluster` (a Kafka broker and an Apicurio registry on loopback, for the demo and the tests).
"""

__version__ = "0.1.0"
