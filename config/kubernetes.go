package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/vaneproj/vane/internal/yamlpos"
)

// Kubernetes takes a service's endpoints from the EndpointSlices of a
// Kubernetes Service: an endpoint belongs to the stable or canary version
// by the value of VersionLabel on its Pod, and only ready endpoints are
// served.
type Kubernetes struct {
	// Namespace of the Service and its Pods (default "default").
	Namespace string `yaml:"namespace"`
	// Service is the Kubernetes Service's name (default: this service's
	// name).
	Service string `yaml:"service"`
	// VersionLabel is the Pod label whose value is stable.version or
	// canary.version (default "version").
	VersionLabel string `yaml:"version_label"`
	// Port is the name of the EndpointSlice port to route to (default:
	// the slices' only port).
	Port string `yaml:"port"`
	// Kubeconfig is a kubeconfig file, relative to this file (default:
	// the in-cluster service account, else $KUBECONFIG or ~/.kube/config).
	Kubeconfig string `yaml:"kubeconfig"`
}

// kubernetesDefaults fills the defaults of services[].kubernetes.
func (c *Config) kubernetesDefaults() {
	for i := range c.Services {
		k := c.Services[i].Kubernetes
		if k == nil {
			continue
		}
		if k.Namespace == "" {
			k.Namespace = "default"
		}
		if k.Service == "" {
			k.Service = c.Services[i].Name
		}
		if k.VersionLabel == "" {
			k.VersionLabel = "version"
		}
	}
}

// validateKubernetes checks services[i].kubernetes.
func (c *Config) validateKubernetes(v *validator, i int, s Service) {
	k := s.Kubernetes
	if k == nil {
		return
	}
	p := fmt.Sprintf("services[%d]", i)
	if len(s.Stable.Endpoints) > 0 {
		v.at(p+".stable.endpoints", "set, but the endpoints come from kubernetes; remove one")
	}
	if len(s.Canary.Endpoints) > 0 {
		v.at(p+".canary.endpoints", "set, but the endpoints come from kubernetes; remove one")
	}
	for _, f := range []struct{ field, val string }{{"namespace", k.Namespace}, {"service", k.Service}} {
		if errs := validation.IsDNS1123Label(f.val); len(errs) > 0 {
			v.at(p+".kubernetes."+f.field, "%q: %s", f.val, strings.Join(errs, "; "))
		}
	}
	if errs := validation.IsQualifiedName(k.VersionLabel); len(errs) > 0 {
		v.at(p+".kubernetes.version_label", "%q is not a label key: %s", k.VersionLabel, strings.Join(errs, "; "))
	}
	if k.Port != "" {
		if errs := validation.IsValidPortName(k.Port); len(errs) > 0 {
			v.at(p+".kubernetes.port", "%q is not a port name: %s", k.Port, strings.Join(errs, "; "))
		}
	}
	if k.Kubeconfig != "" {
		if _, err := os.Stat(c.Resolve(k.Kubeconfig)); err != nil {
			v.at(p+".kubernetes.kubeconfig", "%v", err)
		}
	}
}

// kubernetesEndpoints drops, for a service whose endpoints come from
// Kubernetes, the static list's "at least one endpoint" error from err.
func kubernetesEndpoints(s Service, err error) error {
	if s.Kubernetes == nil {
		return err
	}
	var keep []error
	for _, e := range yamlpos.Unjoin(err) {
		if !strings.HasPrefix(e.Error(), "stable.endpoints: at least one") {
			keep = append(keep, e)
		}
	}
	return errors.Join(keep...)
}
