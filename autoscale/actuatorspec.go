package autoscale

import (
	"context"
	"time"
)

// The actuator kinds vane.yaml knows.
const (
	KindKubernetes = "kubernetes"
	KindExec       = "exec"
	KindWebhook    = "webhook"
	KindLocal      = "local"
)

// ActuatorSpec is an autoscaler's actuator as configured: its kind and
// that kind's settings (exactly one of the pointers is set, the one of
// Kind).
type ActuatorSpec struct {
	Kind       string          `json:"kind"`
	Kubernetes *KubernetesSpec `json:"kubernetes,omitempty"`
	Exec       *ExecSpec       `json:"exec,omitempty"`
	Webhook    *WebhookSpec    `json:"webhook,omitempty"`
	Local      *LocalSpec      `json:"local,omitempty"`
}

// KubernetesSpec is a resource with a scale subresource (Deployment,
// StatefulSet, ReplicaSet or any custom resource that has one).
type KubernetesSpec struct {
	// Kubeconfig is a kubeconfig file; empty means in-cluster config.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context is the kubeconfig context (empty: its current context).
	Context   string `json:"context,omitempty"`
	Namespace string `json:"namespace"`
	// APIVersion and Kind name the resource (default apps/v1 Deployment).
	APIVersion string `json:"api_version,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// ExecSpec runs commands: Set with the count as its last argument (and in
// VANE_REPLICAS); Get prints the current count (or "desired ready") on
// stdout.
type ExecSpec struct {
	Set     []string      `json:"set"`
	Get     []string      `json:"get"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

// WebhookSpec is an HTTP endpoint: GET URL returns {"desired":N,"ready":M};
// PUT (or POST) URL with {"replicas":N} sets the count.
type WebhookSpec struct {
	URL string `json:"url"`
	// Method of the set call (default PUT).
	Method string `json:"method,omitempty"`
	// TokenFile, when set, holds a bearer token sent with each call.
	TokenFile string            `json:"token_file,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Timeout   time.Duration     `json:"timeout,omitempty"`
}

// LocalSpec is replicas of the sample service run by vane itself, each a
// gRPC server whose address is added to or removed from the service's
// endpoints over xDS.
type LocalSpec struct {
	// Version is the sample app's version the replicas run.
	Version string `json:"version"`
	// Listen is the host the replicas listen on (default 127.0.0.1; each
	// gets a free port).
	Listen string `json:"listen,omitempty"`
	// RatePerReplica bounds the calls per second one replica serves
	// (0: unbounded).
	RatePerReplica float64 `json:"rate_per_replica,omitempty"`
	// StartupDelay is how long a new replica takes before it is ready.
	StartupDelay time.Duration `json:"startup_delay,omitempty"`
	// Args are extra arguments of the sample app.
	Args []string `json:"args,omitempty"`
}

// ActuatorFactory builds the actuator of an autoscaler (named after its
// service) from its spec. ctx is the actuator's lifetime: actuators that
// run something (local replicas) stop it when ctx ends. Package
// autoscale/actuator provides one (actuator.New).
type ActuatorFactory func(ctx context.Context, name string, spec ActuatorSpec) (Actuator, error)
