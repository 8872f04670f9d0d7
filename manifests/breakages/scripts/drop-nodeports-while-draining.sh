#!/bin/sh
# cnimatrix negative control `terminating-fallback-refused` (manifests/breakages/day2.yaml).
# Runs in the background on the node the terminating-fallback scenario probes. While a pod on this
# node drains (its preStop hook's command line carries the word cnimatrix-draining, see
# manifests/workloads/day2/draining-netexec.yaml), new connections to the NodePorts of NAMESPACE's
# Services here are dropped: what externalTrafficPolicy Local does on a node whose endpoints are
# all terminating when the Service proxy does not fall back to them (KEP-1669). The NodePorts are
# read from kube-proxy's rules (their comments name the namespace); once no pod drains the drops
# go again. Stops by itself after an hour.
#   usage: drop-nodeports-while-draining.sh NAMESPACE
ns=$1
mark="cnimatrix: terminating fallback refused"
node_ports() {
    iptables-save -t nat | grep -- '-A KUBE-NODEPORTS' | grep -F -- "$ns/" | sed -n 's/.*--dport \([0-9]*\).*/\1/p' | sort -u
}
dropped() {
    iptables -t mangle -S PREROUTING | grep -F -- "$mark" | sed -n 's/.*--dport \([0-9]*\).*/\1/p'
}
end=$(( $(date +%s) + 3600 ))
while [ "$(date +%s)" -lt "$end" ]; do
    # [g]: the pattern must not match pgrep's own command line
    if pgrep -f 'cnimatrix-drainin[g]' >/dev/null; then
        for port in $(node_ports); do
            dropped | grep -qxF "$port" && continue
            iptables -t mangle -I PREROUTING 1 -p tcp --dport "$port" --syn -m comment --comment "$mark" -j DROP &&
                echo "$(date +%s) a pod drains here: new connections to NodePort $port dropped"
        done
    else
        for port in $(dropped); do
            iptables -t mangle -D PREROUTING -p tcp --dport "$port" --syn -m comment --comment "$mark" -j DROP &&
                echo "$(date +%s) no pod drains here: NodePort $port open again"
        done
    fi
    sleep 0.2
done
