"""Deploy manifests generated from the project's own data: `python -m envgrid.deploy.manifests write` writes
`deploy/k8s/` (Strimzi topics and users from the topic catalogue and the principals, the broker, the registry,
the worker and its autoscaling); `python -m envgrid.deploy.validate` checks them offline with kubeconform.
"""
