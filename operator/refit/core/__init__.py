"""Pure decisions of the operator: no I/O, no clock (`now` is always passed in).

schedule (cron, H, DST) · missed (which ticks run after downtime) · concurrency (Forbid, Allow,
Replace) · names (deterministic run and Job names) · drift_policy (verdict, Drift runs, cooldown)
· durations · gate (promotion decision) · conditions (status conditions) · run_state (the
TrainingRun state machine) · validation (semantic checks of a pipeline spec).
"""
