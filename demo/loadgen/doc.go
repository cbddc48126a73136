// Package loadgen is the demo's load generator: it sends UnaryCall RPCs to
// the sample service at a steady rate, or along a linear ramp, through a
// real gRPC client — in the demo the gRPC xDS client dialing xds:///demo, so
// every call is routed by the weights Vane serves over xDS — and counts, per
// version that answered, the calls that succeeded, failed (by gRPC code) or
// were slow, with the times of the first and last bad call. Those numbers
// are what users of the service saw: the demo reports from them the bad
// calls users got during a canary and the time from the first bad call to
// the canary's weight reaching 0.
//
// It imports grpc, grpc's xds client and demo/sampleapp (for the version
// trailer); it must not import Vane's controller packages (rollout, analysis,
// xds, prom): it plays the service's users.
//
// Usage:
//
//	g, err := loadgen.New(loadgen.Config{Target: "xds:///demo", Bootstrap: bootstrapJSON, Rate: 50})
//	if err != nil { ... }
//	defer g.Close()
//	go g.Run(ctx)
//	before := g.Stats()
//	...
//	d := g.Stats().Sub(before) // what users got in between
//	fmt.Println(d.ByVersion["v2"].Bad, d.ByVersion["v2"].FirstBad)
package loadgen
