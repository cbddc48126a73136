// Package yamlpos places problems in YAML files where people find them:
// every Error names the file, the line and column, the field's path
// ("services[0].rollout.steps[2].weight") and a message; an unknown field's
// message lists the allowed fields and the closest one.
//
// It is the one place Vane turns YAML positions into errors: the
// configuration (config) decodes vane.yaml through Doc, whose Decode
// checks every key and value against the Go type it fills; SLO specs
// (slo) report their problems as Error too; and models that decode
// themselves (rollout.PlanStep) return Error with a path relative to their
// node. The only text it reads from the YAML library is the line of a
// syntax error, which the library gives in no other form.
//
// Usage:
//
//	doc, err := yamlpos.Parse("vane.yaml", data)
//	if err != nil { … } // vane.yaml:3: did not find expected key
//	err = doc.Decode(&cfg) // vane.yaml:7:5: http.tokenfile: unknown field (allowed: …); did you mean "token_file"?
//	err = doc.Errorf("http.listen", "%q is not host:port", s)
package yamlpos
