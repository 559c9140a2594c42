"""Drift engine: per-feature two-sample tests and the dataset verdict.

`samples` prepares each column once (sorted numeric arrays, category counts), the tests in
`stattests` read from that preparation, `selection` picks a test per column the way
Evidently's DataDriftPreset does, and `engine` turns the results into a report.
"""
