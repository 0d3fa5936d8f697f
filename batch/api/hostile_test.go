package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPatchIDIsOneSegment sends hostile ids and checks, on the raw request
// line, that each one left as exactly one escaped segment under /customers/
// that unescapes to the id: it can never address another route.
func TestPatchIDIsOneSegment(t *testing.T) {
	var mu sync.Mutex
	var uris []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI) // the request-target exactly as sent
		mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"code":"invalid_id","message":"bad id"}}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	segment := regexp.MustCompile(`^/customers/([^/?#]+)$`)
	tests := []struct {
		name, id string
		wantURI  string // written by hand
	}{
		{"slash", "a/b", "/customers/a%2Fb"},
		{"traversal", "../admin", "/customers/..%2Fadmin"},
		{"deep traversal", "a/../../_sandbox/stats", "/customers/a%2F..%2F..%2F_sandbox%2Fstats"},
		{"escaped slash", "a%2Fb", "/customers/a%252Fb"},
		{"percent alone", "%", "/customers/%25"},
		{"query", "a?b=1", "/customers/a%3Fb=1"},
		{"fragment", "a#frag", "/customers/a%23frag"},
		{"space", "a b", "/customers/a%20b"},
		{"backslash", `a\..\b`, "/customers/a%5C..%5Cb"},
		{"semicolon", "a;b", "/customers/a%3Bb"},
		{"line break", "a\r\nX-Evil: 1", "/customers/a%0D%0AX-Evil:%201"},
		{"NUL", "a\x00b", "/customers/a%00b"},
		{"dots inside", "a..b", "/customers/a..b"},
		{"three dots", "...", "/customers/..."},
		{"accent", "été", "/customers/%C3%A9t%C3%A9"},
		{"300 characters", strings.Repeat("x", 300), "/customers/" + strings.Repeat("x", 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			uris = nil
			mu.Unlock()
			res := c.Patch(context.Background(), tt.id, []byte(`{"email":"a@example.com"}`), "jb1-k")
			if res.Err != nil || res.Status != http.StatusBadRequest {
				t.Fatalf("Patch(%q) = status %d, err %v; want the server's 400", tt.id, res.Status, res.Err)
			}
			mu.Lock()
			got := append([]string(nil), uris...)
			mu.Unlock()
			if len(got) != 1 || got[0] != tt.wantURI {
				t.Fatalf("Patch(%q) sent request-targets %q; want exactly [%q]", tt.id, got, tt.wantURI)
			}
			m := segment.FindStringSubmatch(got[0])
			if m == nil {
				t.Fatalf("Patch(%q) sent %q; want /customers/<one segment>", tt.id, got[0])
			}
			if seg, err := url.PathUnescape(m[1]); err != nil || seg != tt.id {
				t.Errorf("segment %q unescapes to %q (%v); want the id %q", m[1], seg, err, tt.id)
			}
		})
	}
}

// TestPatchRefusesUnaddressableIDs: "", "." and ".." are dot-segments (or
// nothing) whatever their escaping, so Patch sends nothing for them.
func TestPatchRefusesUnaddressableIDs(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	for _, id := range []string{"", ".", ".."} {
		res := c.Patch(context.Background(), id, []byte(`{"email":"a@example.com"}`), "jb1-k")
		if !errors.Is(res.Err, ErrBadID) || res.Status != 0 {
			t.Errorf("Patch(%q) = status %d, err %v; want ErrBadID and nothing sent", id, res.Status, res.Err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests; want 0", n)
	}
}

// TestDefaultClientVerifiesTLS: with no HTTPClient (as in production) a
// server whose certificate is not trusted is refused during the handshake:
// the handler never runs and the error names the certificate.
func TestDefaultClientVerifiesTLS(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"data":{"id":"c1"}}`)
	}))
	defer srv.Close()
	srv.Config.ErrorLog = nil

	c := newClient(t, srv.URL, nil) // HTTPClient nil: the production default
	res := c.Patch(context.Background(), "c1", []byte(`{"email":"a@example.com"}`), "jb1-k")
	var certErr *tls.CertificateVerificationError
	if res.Err == nil || !errors.As(res.Err, &certErr) || !strings.Contains(res.Err.Error(), "certificate") {
		t.Fatalf("Patch to an untrusted server = status %d, err %v; want a certificate verification error", res.Status, res.Err)
	}
	if res.Status != 0 || hits.Load() != 0 {
		t.Errorf("status %d, server handled %d requests; want 0 and 0", res.Status, hits.Load())
	}
	if strings.Contains(res.Err.Error(), testKey) {
		t.Errorf("error %v holds the key", res.Err)
	}

	// The same server with its certificate trusted answers: the refusal
	// above is the verification, not something else.
	trusted := newClient(t, srv.URL, func(cfg *Config) { cfg.HTTPClient = srv.Client() })
	if res := trusted.Patch(context.Background(), "c1", []byte(`{"email":"a@example.com"}`), "jb1-k"); res.Err != nil || res.Status != http.StatusOK {
		t.Errorf("Patch with the certificate trusted = %d, %v; want 200", res.Status, res.Err)
	}
}

// TestNoInsecureSkipVerify guards the rule "TLS is always verified" over the
// module's non-test sources.
func TestNoInsecureSkipVerify(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if bytes.Contains(b, []byte("InsecureSkipVerify")) {
			t.Errorf("%s mentions InsecureSkipVerify; TLS verification must never be turned off", path)
		}
		return nil
	})
	if err != nil || checked < 10 {
		t.Fatalf("walked %d source files (err %v); want the whole module", checked, err)
	}
}

// TestAnswersNeverCarryTheKey: a server that echoes the Authorization
// header back, in every place the client reads, never gets the key into
// the Result.
func TestAnswersNeverCarryTheKey(t *testing.T) {
	type echo func(w http.ResponseWriter, auth string)
	tests := []struct {
		name string
		echo echo
	}{
		{"JSON error message", func(w http.ResponseWriter, auth string) {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprintf(w, `{"error":{"code":"bad","message":"you sent %s","details":{"email":["header was %s"]},"request_id":"%s"}}`, auth, auth, auth)
		}},
		{"errors array", func(w http.ResponseWriter, auth string) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"errors":[{"field":"%s","message":"%s"}]}`, auth, auth)
		}},
		{"plain text 500", func(w http.ResponseWriter, auth string) {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "<html>Authorization: %s</html>", auth)
		}},
		{"401 echo", func(w http.ResponseWriter, auth string) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"message":"invalid key %s"}`, auth)
		}},
		{"request id header", func(w http.ResponseWriter, auth string) {
			w.Header().Set("X-Request-Id", auth)
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error":{"code":"conflict","message":"no"}}`)
		}},
		{"2xx not JSON", func(w http.ResponseWriter, auth string) {
			fmt.Fprintf(w, "ok %s", auth)
		}},
		{"2xx other record", func(w http.ResponseWriter, auth string) {
			fmt.Fprintf(w, `{"data":{"id":"%s"}}`, strings.TrimPrefix(auth, "Bearer "))
		}},
		{"2xx record holding it", func(w http.ResponseWriter, auth string) {
			fmt.Fprintf(w, `{"data":{"id":"c1","note":"%s"}}`, auth)
		}},
		{"redirect", func(w http.ResponseWriter, auth string) {
			w.Header().Set("Location", "https://elsewhere.example/"+url.PathEscape(strings.TrimPrefix(auth, "Bearer "))+"/customers/c1")
			w.WriteHeader(http.StatusFound)
		}},
	}
	for _, scheme := range []string{"bearer", "plain"} {
		for _, tt := range tests {
			t.Run(scheme+"/"+tt.name, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !strings.Contains(r.Header.Get("Authorization"), testKey) {
						t.Errorf("server got Authorization %q; want the key in it", r.Header.Get("Authorization"))
					}
					tt.echo(w, r.Header.Get("Authorization"))
				}))
				defer srv.Close()
				c := newClient(t, srv.URL, func(cfg *Config) { cfg.AuthScheme = scheme })
				res := c.Patch(context.Background(), "c1", []byte(`{"email":"a@example.com"}`), "jb1-k")
				var all []string
				all = append(all, fmt.Sprintf("%+v", res), res.RequestID, string(res.Record))
				if res.Err != nil {
					all = append(all, res.Err.Error())
				}
				if p := res.Problem; p != nil {
					all = append(all, p.String(), fmt.Sprintf("%+v", *p))
				}
				for _, s := range all {
					if strings.Contains(s, testKey) {
						t.Fatalf("Patch result carries the key: %s", s)
					}
				}
				if res.Problem == nil && res.Status != http.StatusOK {
					t.Errorf("Patch = %+v; want a Problem", res)
				}
			})
		}
	}
}

// TestClientNeverPrintsTheKey formats a Client every way fmt and slog can.
func TestClientNeverPrintsTheKey(t *testing.T) {
	c := newClient(t, "https://api.example.com", nil)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("client", "c", c)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("client", "c", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), logs.String()} {
		if strings.Contains(s, testKey) {
			t.Errorf("formatted client holds the key: %s", s)
		}
		if !strings.Contains(s, "api.example.com") {
			t.Errorf("formatted client %q; want its base URL", s)
		}
	}
}

// TestParseBaseURLHidesMisplacedSecrets: a key pasted into the base URL (a
// query parameter, a fragment, user info) is not repeated by the error,
// which goes to stderr and the job's logs; the host still shows.
func TestParseBaseURLHidesMisplacedSecrets(t *testing.T) {
	tests := []struct {
		in, want string // want: the whole error, written by hand
	}{
		{"https://api.example.com/v1?api_key=" + testKey,
			`api: base URL "https://api.example.com/v1..." must not have a query or fragment`},
		{"https://api.example.com/#" + testKey,
			`api: base URL "https://api.example.com/..." must not have a query or fragment`},
		{"https://api.example.com/%zz?key=" + testKey,
			`api: base URL "https://api.example.com/%zz...": invalid URL escape "%zz"`},
		{"ftp://" + testKey + ":x@api.example.com",
			`api: base URL must not carry credentials`},
		{"ftp://api.example.com/?k=" + testKey,
			`api: base URL "ftp://api.example.com/..." must not have a query or fragment`},
		{"ftp://u@api.example.com:21",
			`api: base URL must not carry credentials`},
		{"ftp://api.example.com",
			`api: base URL "ftp://api.example.com": scheme must be https`},
		{"api.example.com?key=" + testKey,
			`api: base URL "api.example.com..." has no host`},
		{"http://" + testKey + "@10.0.0.1",
			`api: base URL must not carry credentials`},
	}
	for _, tt := range tests {
		_, err := ParseBaseURL(tt.in)
		if err == nil || err.Error() != tt.want || strings.Contains(err.Error(), testKey) {
			t.Errorf("ParseBaseURL(%q) = %v; want %s", tt.in, err, tt.want)
		}
	}
}
