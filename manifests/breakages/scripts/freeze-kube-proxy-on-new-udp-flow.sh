#!/bin/sh
# cnimatrix negative controls `kube-proxy-frozen-under-udp-churn` and `kube-proxy-frozen-under-nodeport-udp-churn`
# (manifests/breakages/day2.yaml). Runs in the background on the node that translates the UDP client's flows (the
# client pod's node for a ClusterIP; the node sent to for a NodePort). Each time the client starts a flow to an
# address:port not seen before (a conntrack entry from CLIENT, to PORT or with `any` to any port, whose reply comes
# from another address, so the Service is programmed and translated), kube-proxy on this node is frozen (SIGSTOP)
# for HOLD seconds: the Service change a churn case then makes is neither programmed nor followed by conntrack
# cleanup here. Thawed after HOLD so the next case's Service gets programmed; stops by itself after an hour
# (CNIMATRIX_FREEZE_WATCH_S seconds).
#   usage: freeze-kube-proxy-on-new-udp-flow.sh CLIENT_IP PORT|any [HOLD_S]
client=$1 port=$2 hold=${3:-45}
case "$port" in
    any) ports="" ;;
    *) ports="--dport $port" ;;
esac
seen=" "
end=$(( $(date +%s) + ${CNIMATRIX_FREEZE_WATCH_S:-3600} ))
while [ "$(date +%s)" -lt "$end" ]; do
    # shellcheck disable=SC2086 # $ports is empty or two words
    for flow in $(conntrack -L -p udp -s "$client" $ports 2>/dev/null | awk '{
            orig = ""; dport = ""; reply = ""; n = 0
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^dst=/ && orig == "") orig = substr($i, 5)
                if ($i ~ /^dport=/ && dport == "") dport = substr($i, 7)
                if ($i ~ /^src=/ && ++n == 2) reply = substr($i, 5)
            }
            if (orig != "" && reply != "" && orig != reply) print orig ":" dport
        }' | sort -u); do
        case "$seen" in *" $flow "*) continue ;; esac
        seen="$seen$flow "
        pkill -STOP -x kube-proxy && echo "$(date +%s) froze kube-proxy: new flow from $client to $flow"
        sleep "$hold"
        pkill -CONT -x kube-proxy && echo "$(date +%s) thawed kube-proxy"
    done
    sleep 0.1
done
