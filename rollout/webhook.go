package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// HookPayload is the JSON body POSTed to pre_rollout, pre_promote and
// post_rollout webhooks.
type HookPayload struct {
	Hook    HookName `json:"hook"`
	Rollout string   `json:"rollout"`
	Phase   Phase    `json:"phase"`
	Step    int      `json:"step"`
	Stable  string   `json:"stable_version"`
	Canary  string   `json:"canary_version"`
	Weight  int      `json:"canary_weight"`
	Reason  string   `json:"reason"`
}

// Notification is the JSON body POSTed to the notify webhook for every
// decision: Slack's incoming-webhook format ({"text": …}) with the event
// attached for other receivers.
type Notification struct {
	Text  string `json:"text"`
	Event Event  `json:"event"`
}

// NotificationText is the one-line text of an event.
func NotificationText(e Event) string {
	return fmt.Sprintf("[vane] rollout %s: %s (phase %s, step %d, canary %d%%)", e.Rollout, e.Reason, e.Phase, e.Step+1, e.Weight)
}

// HTTPHooks calls webhooks over HTTP; a non-2xx answer is an error that
// quotes the start of the body.
type HTTPHooks struct {
	Client *http.Client
}

// Post sends body as JSON to w.URL within w.Timeout.
func (h HTTPHooks) Post(ctx context.Context, w Webhook, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode webhook body: %w", err)
	}
	t := time.Duration(w.Timeout)
	if t <= 0 {
		t = DefaultWebhookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vane")
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.URL, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s answered %s after %s: %s", w.URL, resp.Status, time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(snippet)))
	}
	return nil
}
