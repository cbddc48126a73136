package kube_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/vaneproj/vane/kube"
)

// The API server's answer is faked: the test kube-apiserver authorizes
// everything (AlwaysAllow), so only the mapping of a denial to the error is
// checked here.
func TestCheckAccessNamesTheMissingPermission(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		attr := r.Spec.ResourceAttributes
		r.Status.Allowed = !(attr.Resource == "endpointslices" && attr.Verb == "watch")
		return true, r, nil
	})
	err := kube.CheckAccess(context.Background(), client, "shop")
	if !errors.Is(err, kube.ErrForbidden) {
		t.Fatalf("CheckAccess = %v, want ErrForbidden", err)
	}
	want := `verb "watch" on endpointslices (apiGroup discovery.k8s.io) in namespace "shop"`
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "pods") {
		t.Fatalf("CheckAccess = %v, want it to name only %s", err, want)
	}
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		r.Status.Allowed = true
		return true, r, nil
	})
	if err := kube.CheckAccess(context.Background(), client, "shop"); err != nil {
		t.Fatalf("CheckAccess with every permission = %v", err)
	}
}
