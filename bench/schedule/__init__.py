"""Schedule accuracy and cost: N pipelines on `* * * * *` beside N CronJobs."""
