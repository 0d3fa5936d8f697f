package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus/push"
)

// DefaultPushTimeout bounds a push made with a nil client.
const DefaultPushTimeout = 10 * time.Second

// Push sends r's metrics to the Pushgateway at gatewayURL (for example
// "http://pushgateway.monitoring:9091"; no "/metrics/job/..." part) with an
// HTTP PUT to /metrics/job/<Job>/instance/<Instance>, which replaces what the
// previous run of the same Job and Instance pushed.
//
// Credentials in the URL ("https://user:pass@host") are sent as basic auth
// and never appear in an error. A nil client means a new http.Client with
// DefaultPushTimeout; ctx bounds the request too. Push returns an error
// wrapping ErrInvalidRun for a Run that cannot be published, and a wrapped
// error when the URL is not http(s), the request fails or the gateway
// answers anything but 200 or 202.
func Push(ctx context.Context, gatewayURL string, r Run, client *http.Client) error {
	u, err := url.Parse(gatewayURL)
	if err != nil {
		// url.Parse's error quotes the URL, password included.
		return fmt.Errorf("metrics: push: the gateway URL does not parse; want an http:// or https:// URL with a host")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("metrics: push to %s: want an http:// or https:// URL with a host", u.Redacted())
	}
	user := u.User
	u.User = nil
	target := u.String()

	reg, err := registry(r, nil)
	if err != nil {
		return fmt.Errorf("metrics: push to %s: %w", target, err)
	}
	if client == nil {
		client = &http.Client{Timeout: DefaultPushTimeout}
	}
	p := push.New(target, r.job()).
		Grouping("instance", r.Instance).
		Gatherer(reg).
		Client(client)
	if user != nil {
		pass, _ := user.Password()
		p = p.BasicAuth(user.Username(), pass)
	}
	if err := p.PushContext(ctx); err != nil {
		return fmt.Errorf("metrics: push to %s: %w", target, err)
	}
	return nil
}
