package xds

import (
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// typeURLs lists the resource types Vane serves, in the order a client
// needs them.
var typeURLs = []string{resourcev3.ListenerType, resourcev3.RouteType, resourcev3.ClusterType, resourcev3.EndpointType}

// typeName is the short, bounded metric label for a type URL.
func typeName(url string) string {
	switch url {
	case resourcev3.ListenerType:
		return "listener"
	case resourcev3.RouteType:
		return "route"
	case resourcev3.ClusterType:
		return "cluster"
	case resourcev3.EndpointType:
		return "endpoint"
	default:
		return "other"
	}
}

// typeOf returns the type URL of a resource.
func typeOf(r types.Resource) string {
	return "type.googleapis.com/" + string(r.ProtoReflect().Descriptor().FullName())
}

func nameOf(r types.Resource) string { return cache.GetResourceName(r) }

// fullState reports whether state-of-the-world responses of this type carry
// every subscribed resource (LDS, CDS), so that an empty request means the
// legacy wildcard.
func fullState(url string) bool { return cache.ResourceRequiresFullStateInSotw(url) }
