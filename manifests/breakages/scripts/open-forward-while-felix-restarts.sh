#!/bin/sh
# cnimatrix negative control `felix-fails-open-while-restarting` (manifests/breakages/day2.yaml).
# Runs in the background on the node whose agent the day-2 suite restarts. Once the Felix process it
# started beside is gone (the calico-node pod deleted), forwarded traffic is accepted ahead of every
# other FORWARD rule for HOLD seconds: the node fails open while its policy agent restarts, where
# Felix's own rules (left in place while it is down) keep it closed. Stops by itself after an hour.
#   usage: open-forward-while-felix-restarts.sh [HOLD_S]
hold=${1:-60}
first=$(pgrep -f '^calico-node -felix$' | head -n 1)
[ -n "$first" ] || { echo "no Felix process on this node"; exit 1; }
end=$(( $(date +%s) + 3600 ))
while [ "$(date +%s)" -lt "$end" ]; do
    now=$(pgrep -f '^calico-node -felix$' | head -n 1)
    if [ "$now" != "$first" ]; then
        iptables -I FORWARD 1 -m comment --comment "cnimatrix: open while Felix restarts" -j ACCEPT &&
            echo "$(date +%s) Felix $first gone: FORWARD open"
        sleep "$hold"
        iptables -D FORWARD -m comment --comment "cnimatrix: open while Felix restarts" -j ACCEPT &&
            echo "$(date +%s) FORWARD closed again"
        exit 0
    fi
    sleep 0.2
done
