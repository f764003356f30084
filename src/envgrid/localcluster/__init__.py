"""Local Kafka 4.x (KRaft) broker + Apicurio Registry 3.x on loopback.

Command: `python -m envgrid.localcluster up|down|status|env`. API: `envgrid.localcluster.cluster.LocalCluster`.
Importing this package starts nothing and imports nothing heavy.
"""
