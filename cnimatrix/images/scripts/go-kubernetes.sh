#!/usr/bin/env bash
# Kubernetes server binaries and agnhost from the k8s.io/kubernetes module via a wrapper module:
# the staging modules are replaced with their published v0.Y.Z twins (module zips carry no staging/).
# In: KUBERNETES_VERSION, OUT. Out: $OUT/bin/{kube-apiserver,...,kubectl,agnhost}.
set -euo pipefail
: "${KUBERNETES_VERSION:?}" "${OUT:?}"
minor_patch=${KUBERNETES_VERSION#v1.}
staging_version=v0.$minor_patch
work="$OUT/module"
mkdir -p "$work" "$OUT/bin"
cd "$work"
k8s_dir=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | jq -r '.Dir // error(.Error)')
go_line=$(grep -m1 '^go ' "$k8s_dir/go.mod")
{
  echo "module cnimatrix.local/kubebuild"
  echo "$go_line"
  grep -m1 '^godebug ' "$k8s_dir/go.mod" || true
  echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
  echo "replace ("
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#  \1 => \1 '"$staging_version"'#p' "$k8s_dir/go.mod"
  echo ")"
} > go.mod
cat > tools.go <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/test/images/agnhost"
)
GO
echo "== resolving modules"
go mod tidy -e
minor=${minor_patch%%.*}
info=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION")
commit=$(jq -r '.Origin.Hash // "0000000000000000000000000000000000000000"' <<<"$info")
build_date=$(date -u -d "$(jq -r .Time "$(jq -r .Info <<<"$info")")" +%Y-%m-%dT%H:%M:%SZ)
ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags+=" -X '$pkg.gitVersion=$KUBERNETES_VERSION' -X '$pkg.gitMajor=1' -X '$pkg.gitMinor=$minor'"
  ldflags+=" -X '$pkg.gitCommit=$commit' -X '$pkg.gitTreeState=clean' -X '$pkg.buildDate=$build_date'"
done
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
for cmd in kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
  echo "== building $cmd"
  go build -trimpath -ldflags "$ldflags" -o "$OUT/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd"
done
echo "== building agnhost"
go build -trimpath -ldflags "-s -w -X 'main.Version=$(cat "$k8s_dir/test/images/agnhost/VERSION")'" -o "$OUT/bin/agnhost" k8s.io/kubernetes/test/images/agnhost
"$OUT/bin/kubeadm" version -o short
