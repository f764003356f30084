"""A department's (or grid's) client: log in, watch its topic, list its open cases, answer with notices.

    from envgrid.client.client import DepartmentClient
    client = DepartmentClient.from_properties("var/credentials/dept-epb.properties").login()
    for case in client.open_cases(): print(case.case_id, case.status)
    client.acknowledge("WZ-…", "已签收")

The pure part (no Kafka): `book` (a unit's open cases), `notices` (its answers, checked before sending) and
`errors`. On Kafka: `client`, `watch`, `login`. The command: `envgrid-department` (`python -m envgrid.client`).
"""
