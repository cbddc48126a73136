package main

// The container image (make image, deploy/container) is this binary alone
// on scratch, with no CA certificates. These Mozilla roots, built in, are
// used only when the system has none, so that HTTPS to a Prometheus,
// Alertmanager or webhook with a publicly signed certificate verifies there
// too; where the system has roots (or SSL_CERT_FILE names some), those are
// used.
import _ "golang.org/x/crypto/x509roots/fallback"
