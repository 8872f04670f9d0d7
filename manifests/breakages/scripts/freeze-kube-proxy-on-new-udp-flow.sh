#!/bin/sh
# cnimatrix negative control `kube-proxy-frozen-under-udp-churn` (manifests/breakages/day2.yaml).
# Runs in the background on the UDP client's node. Each time the client starts a flow to a ClusterIP
# not seen before (a conntrack entry from CLIENT to PORT whose reply comes from another address, so the
# Service is programmed and translated), kube-proxy on this node is frozen (SIGSTOP) for HOLD seconds:
# the Service change a churn case then makes is neither programmed nor followed by conntrack cleanup
# here. Thawed after HOLD so the next case's Service gets programmed; stops by itself after an hour.
#   usage: freeze-kube-proxy-on-new-udp-flow.sh CLIENT_IP PORT [HOLD_S]
client=$1 port=$2 hold=${3:-45}
seen=" "
end=$(( $(date +%s) + 3600 ))
while [ "$(date +%s)" -lt "$end" ]; do
    for ip in $(conntrack -L -p udp -s "$client" --dport "$port" 2>/dev/null | awk '{
            orig = ""; reply = ""; n = 0
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^dst=/ && orig == "") orig = substr($i, 5)
                if ($i ~ /^src=/ && ++n == 2) reply = substr($i, 5)
            }
            if (orig != "" && reply != "" && orig != reply) print orig
        }' | sort -u); do
        case "$seen" in *" $ip "*) continue ;; esac
        seen="$seen$ip "
        pkill -STOP -x kube-proxy && echo "$(date +%s) froze kube-proxy: new flow from $client to $ip:$port"
        sleep "$hold"
        pkill -CONT -x kube-proxy && echo "$(date +%s) thawed kube-proxy"
    done
    sleep 0.1
done
