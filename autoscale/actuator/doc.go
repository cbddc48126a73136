// Package actuator holds the autoscale.Actuator implementations that
// vane.yaml's actuator kinds name, and New, the autoscale.ActuatorFactory
// the controller's wiring uses.
//
// Each actuator reads the scale target's counts back: the controller never
// assumes a count it could not confirm.
//
// actuator imports autoscale and the SDKs of its targets; autoscale must
// not import it.
package actuator
