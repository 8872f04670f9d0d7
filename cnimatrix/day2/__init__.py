"""The day-2 suite's data and judgements (suites/day2): isolation from a pod's first packet and
UDP Service churn. Pure: what the suite observed goes in, figures and verdicts come out."""
