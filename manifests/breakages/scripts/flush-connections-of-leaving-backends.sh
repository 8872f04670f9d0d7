#!/bin/sh
# cnimatrix negative control `inflight-cut-when-backend-leaves` (manifests/breakages/day2.yaml).
# Runs in the background on the client's node. kube-proxy takes a backend's DNAT rule out of its
# Service's chains once the backend stops being ready (deleted, draining, with a ready peer left);
# from then on this script does what a Service proxy that mistakes "no new connections" for "no
# connections" would: it deletes the conntrack entries of every TCP connection translated to that
# backend, so the answer of a request still in flight comes back untranslated and never reaches
# the client. Only the Services of NAMESPACE (kube-proxy's rule comments name it) are watched;
# stops by itself after an hour.
#   usage: flush-connections-of-leaving-backends.sh NAMESPACE
ns=$1
backends() {
    iptables-save -t nat | grep -- '-A KUBE-SEP-' | grep -F -- "$ns/" |
        sed -n 's/.*--to-destination \([0-9.]*\):[0-9]*.*/\1/p' | sort -u
}
known=$(backends)
end=$(( $(date +%s) + 3600 ))
while [ "$(date +%s)" -lt "$end" ]; do
    now=$(backends)
    for ip in $known; do
        if ! printf '%s\n' "$now" | grep -qxF "$ip"; then
            conntrack -D -p tcp --reply-src "$ip" >/dev/null 2>&1
            echo "$(date +%s) $ip left the Service rules: its TCP connections flushed"
        fi
    done
    known=$now
    sleep 0.2
done
