"""Tasks the plan sets on a schedule rather than on a report: 双随机 spot checks (`spotcheck`) and the upper grids'
quarterly supervision of lower grids (`supervision`). Each becomes a case with a deterministic id (`TaskOpening`),
opened by the case desk like a routed report and closed by a result notice like any case."""
