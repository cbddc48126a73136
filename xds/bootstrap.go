package xds

import (
	"encoding/json"
	"errors"
	"fmt"
)

// BootstrapConfig describes a gRPC xDS client (a node) of a Vane server.
type BootstrapConfig struct {
	// ServerURI is the ADS server's address, e.g. "127.0.0.1:18000".
	ServerURI string
	// Fallback are further servers (other replicas), listed after
	// ServerURI in the bootstrap's xds_servers. gRPC-Go (gRFC A71) turns
	// to the next one only when the current one is unreachable and it
	// lacks a resource it watches; a client that holds its resources keeps
	// them and reconnects to ServerURI.
	Fallback []string
	// NodeID identifies the client in ACK/NACK reports; it should be unique
	// per client process.
	NodeID string
	// Cluster is the node's cluster (optional; informational).
	Cluster string
	// CAFile, when set, makes the client dial with TLS and trust this CA.
	// CertFile and KeyFile add a client certificate for mTLS.
	CAFile, CertFile, KeyFile string
}

// Bootstrap returns the gRPC xDS bootstrap JSON for c. Pass it to
// google.golang.org/grpc/xds.NewXDSResolverWithConfigForTesting (several
// nodes in one process) or put it in GRPC_XDS_BOOTSTRAP_CONFIG, then dial
// "xds:///<service>".
//
// The server feature "ignore_resource_deletion" keeps clients on their last
// listener and clusters if a restarted server has not yet loaded a service.
func Bootstrap(c BootstrapConfig) ([]byte, error) {
	if c.ServerURI == "" {
		return nil, errors.New("xds: bootstrap: server URI is empty")
	}
	if c.NodeID == "" {
		return nil, errors.New("xds: bootstrap: node id is empty")
	}
	creds := map[string]any{"type": "insecure"}
	if c.CAFile != "" {
		cfg := map[string]string{"ca_certificate_file": c.CAFile}
		if (c.CertFile == "") != (c.KeyFile == "") {
			return nil, errors.New("xds: bootstrap: cert file and key file must be set together")
		}
		if c.CertFile != "" {
			cfg["certificate_file"] = c.CertFile
			cfg["private_key_file"] = c.KeyFile
		}
		creds = map[string]any{"type": "tls", "config": cfg}
	} else if c.CertFile != "" || c.KeyFile != "" {
		return nil, errors.New("xds: bootstrap: a client certificate needs a CA file (TLS)")
	}
	node := map[string]any{"id": c.NodeID}
	if c.Cluster != "" {
		node["cluster"] = c.Cluster
	}
	var servers []any
	for _, uri := range append([]string{c.ServerURI}, c.Fallback...) {
		if uri == "" {
			return nil, errors.New("xds: bootstrap: a fallback server URI is empty")
		}
		servers = append(servers, map[string]any{
			"server_uri":      uri,
			"channel_creds":   []any{creds},
			"server_features": []string{"ignore_resource_deletion"},
		})
	}
	b, err := json.MarshalIndent(map[string]any{
		"xds_servers": servers,
		"node":        node,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("xds: bootstrap: %w", err)
	}
	return b, nil
}
