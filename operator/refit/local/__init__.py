"""The same run state machine as the operator, with local processes instead of Jobs.

`refit run` and `refit demo` drive `refit.core.run_state` through the shared
`refit.adapters.run_driver.RunDriver`; only the JobBackend differs (`job_backend.LocalJobBackend`:
a Job is a process running the Job manifest's container command with its environment).
"""
