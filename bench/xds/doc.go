// Package xds is the xDS convergence benchmark behind `vane bench xds`: the
// time from a weight change to its ACK by N real gRPC ADS streams, the CPU
// per change and the memory per stream, for Vane's server and for a plain
// go-control-plane SnapshotCache server tuned as its users run it.
//
// Each server runs in its own process (RunServer) and the streams in
// another (RunStreams), both started as subcommands of the vane binary;
// RunChild orchestrates them. It must not import cmd/vane, rollout or api.
package xds
