"""The day-2 suite's data and judgements (suites/day2): isolation from a pod's first packet, UDP
Service churn, traffic while a CNI agent restarts. Pure: what the suite observed goes in, figures
and verdicts come out."""
