"""Local Kafka 4.x (KRaft) broker + Apicurio Registry 3.x on loopback.

Command: `python -m deploy.local up|down|status|env`. API: `deploy.local.cluster.LocalCluster`.
Importing this package starts nothing and imports nothing heavy.
"""
