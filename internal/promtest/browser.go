package promtest

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// RenderDOM loads url in a real headless Chromium (Debian's package,
// installed by `make test-tools`), lets its scripts run for up to budget of
// virtual time, and returns the page's DOM as HTML. It fails the test when
// Chromium is missing or fails.
func RenderDOM(t testing.TB, url string, budget time.Duration) string {
	t.Helper()
	bin := Tool(t, "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		// This machine has no network but loopback: keep Chromium from
		// reaching out on its own.
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		"--virtual-time-budget="+strconv.FormatInt(budget.Milliseconds(), 10),
		"--dump-dom", url)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtest: chromium --dump-dom %s: %v\n%s", url, err, errOut.String())
	}
	return out.String()
}
