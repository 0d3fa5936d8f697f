package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/report"
)

// readmeDemo runs the README's first command in dir and returns the path
// of the report.html it wrote.
func readmeDemo(t *testing.T, dir string) string {
	t.Helper()
	got := invoke(t, dir, nil, "apply", "--sandbox", "--map", repoFile("crm-mapping.json"), "--phone-region", "NG", repoFile("crm-export.csv"))
	if got.code != exitRowsBad {
		t.Fatalf("the README demo = %d; want %d\n%s\n%s", got.code, exitRowsBad, got.stdout, got.stderr)
	}
	return filepath.Join(dir, "report", "report.html")
}

// TestStatusHTML: status --html writes every run and the key's days.
func TestStatusHTML(t *testing.T) {
	dir := t.TempDir()
	readmeDemo(t, dir)
	page := filepath.Join(dir, "state.html")
	got := invoke(t, dir, nil, "status", "--html", page)
	if got.code != exitOK {
		t.Fatalf("status --html = %d\n%s", got.code, got.stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("status --html wrote no page: %v", err)
	}
	for _, want := range []string{"Runs (1)", "6 updated 1 invalid", "Requests per UTC day: key test_", "crm-export.csv",
		`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
}

// chromium returns Debian's chromium (or Ubuntu's chromium-browser), or
// skips the test saying how to get one.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium or chromium-browser on PATH: the report.html browser check needs one (Debian: apt-get install chromium; .ci/run tries to)")
	return ""
}

// headless runs the browser on a page with its profile and home in a
// temporary directory, bounded by a timeout so a hung browser fails the
// test instead of the suite.
func headless(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home := t.TempDir()
	full := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + filepath.Join(home, "profile")}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v (context: %v)\nstderr:\n%s", bin, full, err, ctx.Err(), stderr.String())
	}
	return stdout.Bytes()
}

// TestReportHTMLInABrowser opens the README demo's report.html in headless
// Chromium: the DOM it builds holds the run's outcome counts, and its
// screenshot is a drawn page (the CSS applied, the outcome bar in its
// colours), not a blank one. The CSP forbids scripts and any load; a page
// that broke under it would render unstyled and fail the colour checks.
func TestReportHTMLInABrowser(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	page := readmeDemo(t, dir)
	url := "file://" + page

	dom := string(headless(t, bin, "--dump-dom", url))
	for _, want := range []string{
		"<b>7</b><span>rows</span>",
		"<b>6</b><span>updated</span>",
		"<b>1</b><span>invalid</span>",
		"finished: some rows need attention",
		"d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a", // the invalid row's id
		"not a valid email address",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the browser's DOM lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}

	shot := filepath.Join(dir, "report.png")
	headless(t, bin, "--screenshot="+shot, "--window-size=1200,900", url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	st := pixelStats(img)
	t.Logf("screenshot: %d distinct colours, %d inked pixels, %d green, %d orange", st.colours, st.inked, st.green, st.orange)
	b := img.Bounds()
	total := b.Dx() * b.Dy()
	// Thresholds far from what the page draws (thousands of coloured
	// pixels) and far from a blank or unstyled page (none).
	if st.colours < 50 {
		t.Errorf("the screenshot has %d distinct colours; want at least 50 (a drawn page, not a blank one)", st.colours)
	}
	if st.inked < total/50 {
		t.Errorf("the screenshot has %d of %d pixels that are neither white nor the page background; want at least 2%%", st.inked, total)
	}
	if st.green < 2000 {
		t.Errorf("the screenshot has %d pixels of the 'updated' green; want at least 2000 (the outcome bar drawn with the page's CSS)", st.green)
	}
	if st.orange < 200 {
		t.Errorf("the screenshot has %d pixels of the 'invalid' orange; want at least 200", st.orange)
	}
}

type stats struct{ colours, inked, green, orange int }

// pixelStats counts the distinct colours of img, its pixels that are not
// white or the page background (#f5f7fa), and those of the outcome bar's
// updated green (#2e7d32) and invalid orange (#ef8a00).
func pixelStats(img image.Image) stats {
	var s stats
	seen := map[[3]uint8]bool{}
	near := func(c [3]uint8, r, g, b int) bool {
		d := func(a uint8, b int) int { return max(int(a)-b, b-int(a)) }
		return d(c[0], r) <= 12 && d(c[1], g) <= 12 && d(c[2], b) <= 12
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}
			seen[c] = true
			if !near(c, 255, 255, 255) && !near(c, 0xf5, 0xf7, 0xfa) {
				s.inked++
			}
			if near(c, 0x2e, 0x7d, 0x32) {
				s.green++
			}
			if near(c, 0xef, 0x8a, 0x00) {
				s.orange++
			}
		}
	}
	s.colours = len(seen)
	return s
}

// TestHostilePageInABrowser: values an attacker controls stay text once a
// real browser has parsed the page: the DOM holds no script element and no
// second style element, and shows the values as written.
func TestHostilePageInABrowser(t *testing.T) {
	bin := chromium(t)
	script := `<script>document.title="pwned"</script>`
	style := `</style><script>document.title="pwned"</script>`
	run := report.RunInfo{ID: script, Command: report.CommandApply, Inputs: []string{style}, ExitCode: 3,
		Outcomes: []report.Count{{Outcome: "invalid", Rows: 1}}}
	p := report.Page{Title: script, Run: &run}
	p.Problems.Add(report.Result{Row: 1, ID: script, Outcome: "invalid", Error: "email: javascript:alert(1) " + style})
	page := filepath.Join(t.TempDir(), "hostile.html")
	if err := report.WriteHTMLFile(page, p); err != nil {
		t.Fatal(err)
	}
	dom := string(headless(t, bin, "--dump-dom", "file://"+page))
	if n := strings.Count(strings.ToLower(dom), "<script"); n != 0 {
		t.Errorf("the browser's DOM has %d script elements; want 0:\n%s", n, dom)
	}
	if n := strings.Count(strings.ToLower(dom), "<style"); n != 1 {
		t.Errorf("the browser's DOM has %d style elements; want 1 (the page's own)", n)
	}
	if !strings.Contains(dom, `&lt;script&gt;document.title="pwned"&lt;/script&gt;`) {
		t.Errorf("the browser's DOM does not show the hostile id as text:\n%s", dom)
	}
	if strings.Contains(dom, "<title>pwned</title>") {
		t.Errorf("a hostile value ran: the title was changed")
	}
}
