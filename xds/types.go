package xds

import (
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// typeURLs lists the resource types Vane serves, in the order a client
// needs them.
var typeURLs = []string{resourcev3.ListenerType, resourcev3.RouteType, resourcev3.ClusterType, resourcev3.EndpointType}

// numTypes is the number of resource types Vane serves (len(typeURLs)).
const numTypes = 4

// typeIndex is the index of url in typeURLs, or -1 for a type Vane does not
// serve. The tracker and the metrics keep per-type state in arrays indexed
// by it: a map keyed by the long type URL was a visible cost per message.
func typeIndex(url string) int {
	switch url {
	case resourcev3.ListenerType:
		return 0
	case resourcev3.RouteType:
		return 1
	case resourcev3.ClusterType:
		return 2
	case resourcev3.EndpointType:
		return 3
	default:
		return -1
	}
}

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
