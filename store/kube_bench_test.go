package store

import (
	"context"
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/vaneproj/vane/internal/kubetest"
)

// BenchmarkKubeSave measures fenced saves to the Kubernetes store on a real
// kube-apiserver (and its etcd, on disk), as the leader writes them, with
// the client limits vane run uses (50 requests/s, bursts of 100): a state
// alone (an autoscaler tick: a read and an update of the state ConfigMap),
// a state with one event (a rollout step: the state ConfigMap's update
// plus the copy to the history ConfigMap), and the latter from 16 writers
// at once on 16 objects, which all update the one state ConfigMap and
// retry on conflicts. It reports writes/s.
//
//	go test ./store -run '^$' -bench BenchmarkKubeSave -benchtime 3s
func BenchmarkKubeSave(b *testing.B) {
	cluster := kubetest.Start(b)
	rc := cluster.REST()
	rc.QPS, rc.Burst = 50, 100
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	db, err := OpenKube(ctx, client, KubeOptions{Namespace: "default", Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	term, err := db.BeginTerm(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	fenced := db.Fenced(fixedTerm{term, true})
	benchSaves(b, fenced.Save)
}
