"""The day-2 suite's data and judgements (suites/day2): isolation from a pod's first packet, UDP
Service churn, traffic while a CNI agent restarts, graceful termination, trafficDistribution
PreferSameNode and loadBalancerSourceRanges. Pure: what the suite observed goes in, figures and
verdicts come out."""
