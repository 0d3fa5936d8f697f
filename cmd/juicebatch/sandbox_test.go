package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a stderr sink safe for the sandbox's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// startSandbox runs runSandbox in a goroutine and returns the URL it
// printed, its stdout reader (for anything after the URL line), a cancel
// func, and a channel with its exit code.
func startSandbox(t *testing.T, args []string, env map[string]string, stderr io.Writer) (string, *bufio.Reader, context.CancelFunc, <-chan int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		c := runSandbox(ctx, args, stdio{in: strings.NewReader(""), out: pw, err: stderr, getenv: envOf(env)})
		pw.Close() // a reader waiting for the URL line gets EOF instead of hanging
		code <- c
	}()
	t.Cleanup(func() {
		cancel()
		pr.Close()
	})
	out := bufio.NewReader(pr)
	line, err := out.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("runSandbox(%q) printed %q, then %v; exit code %d", args, line, err, <-code)
	}
	m := regexp.MustCompile(`^sandbox listening on (http://127\.0\.0\.1:[0-9]+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("runSandbox(%q) first line = %q; want \"sandbox listening on http://127.0.0.1:PORT\"", args, line)
	}
	return m[1], out, cancel, code
}

func TestSandboxCommandServes(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "customers.json")
	if err := os.WriteFile(seed, []byte(`[{"id":"c-1","first_name":"Ada","email":"ada@example.com"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		id   string // a customer the sandbox must know
	}{
		{"flags", []string{"--listen", "127.0.0.1:0", "--keys", "test_cmd_k1, test_cmd_k2", "--seed", "3"}, nil, "6f7e1e7f-93d1-4fcc-b7a4-738f869615c8"},
		{"keys from env, port-only listen is loopback", []string{"--listen", ":0"}, map[string]string{"JUICEBATCH_SANDBOX_KEYS": "test_cmd_k1,test_cmd_k2"}, "6f7e1e7f-93d1-4fcc-b7a4-738f869615c8"},
		{"customers file and faults", []string{"-listen=127.0.0.1:0", "-keys=test_cmd_k2", "--customers", seed, "--per-minute", "5", "--latency", "1ms"}, nil, "c-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr syncBuffer
			url, out, cancel, code := startSandbox(t, tt.args, tt.env, &stderr)

			req, err := http.NewRequest(http.MethodPatch, url+"/customers/"+tt.id, strings.NewReader(`{"last_name":"Lovelace"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer test_cmd_k2")
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("PATCH %s: %v", req.URL, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"last_name":"Lovelace"`) {
				t.Errorf("PATCH = %d %s; want 200 with the new last_name", res.StatusCode, body)
			}

			cancel()
			select {
			case c := <-code:
				if c != exitOK {
					t.Errorf("runSandbox after cancel = %d; want %d\nstderr:\n%s", c, exitOK, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("runSandbox did not return after cancel")
			}
			if rest, _ := io.ReadAll(out); len(rest) != 0 {
				t.Errorf("stdout after the URL line = %q; want nothing", rest)
			}
			if s := stderr.String(); strings.Contains(s, "test_cmd_k") {
				t.Errorf("stderr shows an API key:\n%s", s)
			}
		})
	}
}

func TestSandboxCommandErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"id":"a","email":"not-an-email"}]`), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		want       int
		wantStderr string
	}{
		{"help", []string{"-h"}, nil, exitOK, "Examples:"},
		{"long help", []string{"--help"}, nil, exitOK, "juicebatch sandbox --listen 127.0.0.1:8080 --keys test_abc"},
		{"no keys", []string{"--listen", "127.0.0.1:0"}, nil, exitUsage, "--keys is required"},
		{"blank keys", []string{"--keys", " , "}, nil, exitUsage, "--keys is required"},
		{"unknown flag", []string{"--keys", "k", "--port", "1"}, nil, exitUsage, "flag provided but not defined: -port"},
		{"bad number", []string{"--keys", "k", "--per-minute", "ten"}, nil, exitUsage, "invalid value"},
		{"argument", []string{"--keys", "k", "extra"}, nil, exitUsage, `unexpected argument "extra"`},
		{"zero per minute", []string{"--keys", "k", "--per-minute", "0"}, nil, exitUsage, "--per-minute must be at least 1"},
		{"zero per day", []string{"--keys", "k", "--per-day", "0"}, nil, exitUsage, "--per-day must be at least 1"},
		{"zero reads per hour", []string{"--keys", "k", "--reads-per-hour", "0"}, nil, exitUsage, "--reads-per-hour must be at least 1, got 0"},
		{"reads per hour not a number", []string{"--keys", "k", "--reads-per-hour", "many"}, nil, exitUsage, "invalid value"},
		{"fail rate over 1", []string{"--keys", "k", "--fail-rate", "2"}, nil, exitUsage, "--fail-rate must be between 0 and 1"},
		{"drop rate NaN", []string{"--keys", "k", "--drop-after-apply", "NaN"}, nil, exitUsage, "--drop-after-apply must be between 0 and 1"},
		{"negative latency", []string{"--keys", "k", "--latency", "-1s"}, nil, exitUsage, "--latency must not be negative"},
		{"listen without port", []string{"--keys", "k", "--listen", "127.0.0.1"}, nil, exitUsage, `--listen "127.0.0.1"`},
		{"missing customers file", []string{"--keys", "k", "--customers", filepath.Join(dir, "nope.json")}, nil, exitFatal, "read customers: open "},
		{"bad customers file", []string{"--keys", "k", "--customers", bad}, nil, exitFatal, "[0].email: must be a valid email address"},
		{"port in use", []string{"--keys", "k", "--listen", busy.Addr().String()}, nil, exitFatal, "listen on " + busy.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			got := runSandbox(context.Background(), tt.args, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr, getenv: envOf(tt.env)})
			if got != tt.want {
				t.Errorf("runSandbox(%q) = %d; want %d\nstderr:\n%s", tt.args, got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("runSandbox(%q) stderr = %q; want it to contain %q", tt.args, stderr.String(), tt.wantStderr)
			}
			if stdout.String() != "" {
				t.Errorf("runSandbox(%q) stdout = %q; want nothing", tt.args, stdout.String())
			}
		})
	}
}

func TestSandboxCommandReads(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		limit int
	}{
		{"default read limit", nil, 1000},
		{"--reads-per-hour", []string{"--reads-per-hour", "2"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr syncBuffer
			args := append([]string{"--listen", "127.0.0.1:0", "--keys", "test_cmd_k1", "--seed", "1"}, tt.args...)
			url, _, cancel, code := startSandbox(t, args, nil, &stderr)
			defer func() {
				cancel()
				<-code
			}()
			do := func(method, path, body string) (*http.Response, string) {
				t.Helper()
				req, err := http.NewRequest(method, url+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if method == http.MethodGet {
					req.Header.Set("Authorization", "Bearer test_cmd_k1")
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				return res, string(b)
			}
			const id = "6f7e1e7f-93d1-4fcc-b7a4-738f869615c8"
			res, body := do(http.MethodPost, "/_sandbox/edit", `{"id":"`+id+`","set":{"email":"edited@example.com"}}`)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, `"changed":true`) {
				t.Fatalf("POST /_sandbox/edit = %d %s; want 200 changed", res.StatusCode, body)
			}
			res, body = do(http.MethodGet, "/customers?limit=100&sort=created_at:asc", "")
			want := strconv.Itoa(tt.limit)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, `"email":"edited@example.com"`) ||
				res.Header.Get("X-RateLimit-Limit") != want || res.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(tt.limit-1) {
				t.Errorf("GET /customers = %d, limit %q remaining %q, %s; want 200, %d, %d, the edited email", res.StatusCode,
					res.Header.Get("X-RateLimit-Limit"), res.Header.Get("X-RateLimit-Remaining"), body, tt.limit, tt.limit-1)
			}
			if tt.limit == 2 {
				do(http.MethodGet, "/customers/"+id, "")
				if res, body := do(http.MethodGet, "/customers/"+id, ""); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
					t.Errorf("third read = %d %s, Retry-After %q; want 429 with Retry-After", res.StatusCode, body, res.Header.Get("Retry-After"))
				}
			}
		})
	}
}

func TestSandboxViaRun(t *testing.T) {
	var stdout, stderr syncBuffer
	got := run(context.Background(), []string{"sandbox", "-h"}, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr, getenv: envOf(nil)})
	if got != exitOK || !strings.Contains(stderr.String(), "Usage: juicebatch sandbox") {
		t.Errorf("run(sandbox -h) = %d, stderr %q; want %d and the sandbox usage", got, stderr.String(), exitOK)
	}
}
