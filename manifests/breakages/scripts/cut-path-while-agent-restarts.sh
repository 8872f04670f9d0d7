#!/bin/sh
# cnimatrix negative controls `held-connection-reset-while-agent-restarts`,
# `held-connection-stalled-while-agent-restarts` and `new-connections-blackholed-while-agent-restarts`
# (manifests/breakages/day2.yaml). Run on the node whose CNI agent the day-2 suite restarts.
#
# In the foreground it finds the agent pod's ready sandbox (crictl) and the network namespace that
# holds POD_IP, checks that iptables works there, and returns; a copy of itself then waits in the
# background until that sandbox is no longer ready (every container of the old agent pod has
# stopped: the agent is gone, whichever CNI it is). At that moment one rule goes into the INPUT chain
# of the pod's own network namespace, for TCP from SOURCE_IP to PORT, and HOLD_S seconds later it is
# taken out again:
#   reset   every segment answered with a TCP reset: an open connection is reset
#   stall   every segment dropped: an open connection stalls until its retransmission gets through
#   no-new  connection openings (SYN) dropped: new connections time out, open ones go on
# The rule sits in the receiving pod's namespace, not in the node's FORWARD chain, so it holds on
# every datapath: an eBPF one hands packets to the pod without the node's iptables, but the pod's
# own stack still sees them. Only SOURCE_IP is matched, so the kubelet's readiness probes and every
# other client are untouched. The background copy gives up after an hour.
#   usage: cut-path-while-agent-restarts.sh MODE AGENT_NAMESPACE AGENT_POD POD_IP SOURCE_IP PORT HOLD_S
# CNIMATRIX_NETNS_DIR (default /var/run/netns) and CNIMATRIX_CUT_LOG (default
# /var/log/cnimatrix-cut-path-while-agent-restarts.log) are for its unit test.
netns_dir=${CNIMATRIX_NETNS_DIR:-/var/run/netns}
log=${CNIMATRIX_CUT_LOG:-/var/log/cnimatrix-cut-path-while-agent-restarts.log}

rule() {   # rule -I|-D: put the rule in or take it out
    case $mode in
        reset) nsenter --net="$netns" iptables -w "$1" INPUT -s "$source" -p tcp --dport "$port" \
                   -m comment --comment "cnimatrix: reset while the agent restarts" -j REJECT --reject-with tcp-reset ;;
        stall) nsenter --net="$netns" iptables -w "$1" INPUT -s "$source" -p tcp --dport "$port" \
                   -m comment --comment "cnimatrix: stall while the agent restarts" -j DROP ;;
        no-new) nsenter --net="$netns" iptables -w "$1" INPUT -s "$source" -p tcp --dport "$port" --syn \
                   -m comment --comment "cnimatrix: no new connections while the agent restarts" -j DROP ;;
    esac
}

if [ "${1:-}" = --background ]; then
    mode=$2 sandbox=$3 netns=$4 source=$5 port=$6 hold=$7
    end=$(( $(date +%s) + 3600 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        # an answer naming no ready sandbox: stopped or already removed; a failed call proves nothing
        if ready=$(crictl pods -q --id "$sandbox" --state ready 2>/dev/null) && [ -z "$ready" ]; then
            rule -I && echo "$(date +%s) agent sandbox $sandbox no longer ready: $mode for TCP from $source to port $port in $netns"
            sleep "$hold"
            rule -D && echo "$(date +%s) rule taken out after $hold s"
            exit 0
        fi
        sleep 0.2
    done
    echo "$(date +%s) the agent sandbox $sandbox was still ready after an hour: nothing done"
    exit 0
fi

[ $# -eq 7 ] || { echo "usage: $0 reset|stall|no-new AGENT_NAMESPACE AGENT_POD POD_IP SOURCE_IP PORT HOLD_S" >&2; exit 2; }
mode=$1 agent_namespace=$2 agent_pod=$3 pod_ip=$4 source=$5 port=$6 hold=$7
case $mode in
    reset|stall|no-new) ;;
    *) echo "unknown mode '$mode' (reset, stall or no-new)" >&2; exit 2 ;;
esac
[ -n "$agent_pod" ] || { echo "no agent pod named: the CNI's catalog entry names no DaemonSet, or not one of its pods runs on this node" >&2; exit 1; }
sandbox=$(crictl pods -q --namespace "^$agent_namespace\$" --name "^$agent_pod\$" --state ready) ||
    { echo "crictl could not list the pods of this node" >&2; exit 1; }
[ "$(printf '%s\n' "$sandbox" | grep -c .)" -eq 1 ] ||
    { echo "expected one ready sandbox of $agent_namespace/$agent_pod on this node, crictl says: '$sandbox'" >&2; exit 1; }
netns=""
for candidate in "$netns_dir"/*; do
    if nsenter --net="$candidate" ip -o -4 addr show 2>/dev/null | grep -qF " inet $pod_ip/"; then
        netns=$candidate
        break
    fi
done
[ -n "$netns" ] || { echo "no network namespace under $netns_dir holds $pod_ip" >&2; exit 1; }
nsenter --net="$netns" iptables -w -S INPUT >/dev/null || { echo "iptables does not work in $netns" >&2; exit 1; }
echo "waiting for the agent $agent_namespace/$agent_pod (sandbox $sandbox) to stop; then $mode for $hold s in $netns ($pod_ip)"
setsid sh "$0" --background "$mode" "$sandbox" "$netns" "$source" "$port" "$hold" </dev/null >>"$log" 2>&1 &
