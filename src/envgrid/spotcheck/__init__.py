"""`python -m envgrid.spotcheck`: make, publish and verify 双随机 spot-check draws (`envgrid.domain.tasks.spotcheck`)."""
