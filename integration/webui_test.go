package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// chromiumPath is Debian's chromium (scripts/tools.sh installs it).
const chromiumPath = "/usr/bin/chromium"

// TestWebUIShowsTheEscrowDecoded opens a finished escrow's run in the dev server's Web UI
// in headless chromium and checks what an operator sees: the run Completed, and its input
// and result as plain JSON, decrypted by the codec server that the UI calls from the browser.
func TestWebUIShowsTheEscrowDecoded(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs the real Temporal dev server, its Web UI and chromium (drop -short to run it)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): install Debian's chromium as root with 'apt-get update && apt-get install -y chromium' (make test does it through scripts/tools.sh)", chromiumPath, err)
	}
	// Wallet-rpcs connected to a daemon: an offline pool cannot check the funding.
	s := startStackWith(t, stackOptions{rpcs: 3, chain: regtest(t), webUI: true})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	// A completed run: set up, then cancelled before funding.
	const id = "webui-1"
	started := time.Now()
	run, err := s.Starter.Start(ctx, input(id, 0))
	require.NoError(t, err)
	ready, err := s.Starter.WaitReady(ctx, id)
	require.NoError(t, err)
	_, err = s.Starter.Decide(ctx, id, escrow.UpdateCancel, escrow.DecisionInput{Role: escrow.Buyer, ActorID: "buyer-7"})
	require.NoError(t, err)
	res, err := s.Starter.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, escrow.StatusCancelled, res.Status)
	t.Logf("escrow %s set up and cancelled in %.1fs", id, time.Since(started).Seconds())

	url := s.Temporal.WorkflowURL(run.WorkflowID, run.RunID)
	t.Logf("workflow page %s", url)

	// Count the UI's successful POST /decode calls to the codec server, as the browser saw them.
	var mu sync.Mutex
	decodePosts := map[network.RequestID]bool{}
	decoded := 0
	decodeURL := s.CodecURL + "/decode"
	b := newBrowser(t, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.Request.Method == "POST" && ev.Request.URL == decodeURL {
				decodePosts[ev.RequestID] = true
			}
		case *network.EventResponseReceived:
			if decodePosts[ev.RequestID] && ev.Response.Status == 200 {
				decoded++
			}
		}
	})
	browserStarted := time.Now()
	require.NoError(t, chromedp.Do(b), "start chromium")
	t.Logf("chromium started in %.1fs", time.Since(browserStarted).Seconds())

	loaded := time.Now()
	st := openPageUntil(t, b, url, func(st workflowPage) bool {
		return st.Status == "Completed" && strings.Contains(st.Input, `"escrow_id"`) && strings.Contains(st.Result, `"status"`)
	})
	t.Logf("Web UI showed the decoded run in %.1fs", time.Since(loaded).Seconds())
	shot := saveScreenshot(t, b, "webui-escrow.png")
	t.Logf("screenshot %s", shot)

	assert.Equal(t, run.WorkflowID, st.WorkflowID, "the page is the escrow's run")
	assert.Equal(t, "Completed", st.Status, "the run's status badge")
	assert.Contains(t, st.Text, "Workflow Execution Completed", "the history ends with the completion event")
	assert.True(t, st.CodecOK, "the UI's codec status icon says the codec server converted the payloads")
	assert.NotContains(t, st.Text, "Codec Server could not connect")

	var in map[string]any
	if assert.NoError(t, json.Unmarshal([]byte(st.Input), &in), "the Input panel holds the decoded JSON:\n%s", st.Input) {
		assert.Equal(t, id, in["escrow_id"])
		assert.Equal(t, "order-"+id, in["order_id"])
		assert.Equal(t, "buyer-7", in["buyer_id"])
		assert.Equal(t, vendorAddr, in["vendor_payout_address"])
		assert.EqualValues(t, 2_000_000_000_000, in["amount_atomic"])
	}
	var out map[string]any
	if assert.NoError(t, json.Unmarshal([]byte(st.Result), &out), "the Result panel holds the decoded JSON:\n%s", st.Result) {
		assert.Equal(t, id, out["escrow_id"])
		assert.Equal(t, string(escrow.StatusCancelled), out["status"])
		assert.Equal(t, ready.Address, out["address"])
	}
	for _, enc := range []string{"binary/encrypted", "YmluYXJ5L2VuY3J5cHRlZA"} { // the encoding, plain and base64
		assert.NotContains(t, st.Text, enc, "no payload on the page is left encrypted")
	}
	mu.Lock()
	n := decoded
	mu.Unlock()
	assert.Positive(t, n, "the browser called %s", decodeURL)
	t.Logf("the browser got %d successful POST /decode answers from the codec server", n)

	// The control: with the codec server out of the browser's reach, the same page shows
	// the payloads still encrypted and says the codec server could not be reached. So the
	// checks above do see the codec server's work, not something the UI does on its own.
	ctl, closeTab := chromedp.NewContext(b)
	defer closeTab()
	_, err = chromedp.Call(ctl, network.SetBlockedURLs, network.SetBlockedURLsParams{
		URLPatterns: []*network.BlockPattern{{URLPattern: s.CodecURL + "/*", Block: true}},
	})
	require.NoError(t, err, "block the codec server in the control tab")
	loaded = time.Now()
	enc := openPageUntil(t, ctl, url, func(st workflowPage) bool {
		return st.Status == "Completed" && undecodedEncoding(st.Input) != "" && undecodedEncoding(st.Result) != ""
	})
	t.Logf("control: without the codec server the Web UI showed the encrypted run in %.1fs", time.Since(loaded).Seconds())
	t.Logf("control screenshot %s", saveScreenshot(t, ctl, "webui-escrow-undecoded.png"))
	assert.Equal(t, "binary/encrypted", undecodedEncoding(enc.Input), "undecoded input:\n%s", enc.Input)
	assert.Equal(t, "binary/encrypted", undecodedEncoding(enc.Result), "undecoded result:\n%s", enc.Result)
	assert.NotContains(t, enc.Text, `"escrow_id"`, "nothing decoded without the codec server")
	assert.False(t, enc.CodecOK, "no success icon without the codec server")
	assert.Contains(t, enc.Text, "Codec Server could not connect")
}

// undecodedEncoding returns the metadata.encoding of a payload the Web UI shows undecoded (the UI
// prints the payload as JSON with base64 metadata values), or "" for anything else.
func undecodedEncoding(panel string) string {
	var p struct {
		Metadata struct {
			Encoding []byte `json:"encoding"` // base64 in JSON
		} `json:"metadata"`
		Data string `json:"data"`
	}
	if json.Unmarshal([]byte(panel), &p) != nil || p.Data == "" {
		return ""
	}
	return string(p.Metadata.Encoding)
}

// workflowPage is what the workflow page shows, read in the page.
type workflowPage struct {
	WorkflowID string `json:"workflowId"`
	Status     string `json:"status"`
	Input      string `json:"input"`
	Result     string `json:"result"`
	CodecOK    bool   `json:"codecOk"`
	Text       string `json:"text"`
}

// readWorkflowPage reads the Web UI 2.42 workflow page: the heading (data-testid
// workflow-id-heading), the status badge in the same header, the Input and Result code
// panels of data-testid input-and-result (CodeMirror), and the codec server's status icon.
const readWorkflowPage = `(() => {
	const q = (s) => document.querySelector(s);
	const heading = q('[data-testid="workflow-id-heading"]');
	const header = heading ? heading.closest('header') : null;
	const statuses = ['Running', 'Completed', 'Failed', 'Terminated', 'Canceled', 'Timed Out', 'Continued as New', 'Paused'];
	const status = header ? ([...header.querySelectorAll('span')].map((e) => e.textContent.trim()).find((t) => statuses.includes(t)) || '') : '';
	const io = q('[data-testid="input-and-result"]');
	const panel = (name) => {
		if (!io) return '';
		const h = [...io.querySelectorAll('h2')].find((h) => h.textContent.trim() === name);
		const code = h ? h.parentElement.querySelector('.cm-content') : null;
		return code ? code.innerText : '';
	};
	return {
		workflowId: heading ? heading.innerText.trim() : '',
		status,
		input: panel('Input'),
		result: panel('Result'),
		codecOk: !!q('[data-testid="data-encoder-status-success"]'),
		text: document.body ? document.body.innerText : '',
	};
})()`

// openPageUntil opens url in the tab and reads the page until done says it shows what the test
// needs. A slow machine gets generous time, and the page is loaded again if it gets stuck
// (a navigation that times out, an SPA that never finishes rendering). It returns the last
// state read, done or not, so the caller's assertions say what was missing.
func openPageUntil(t *testing.T, tab context.Context, url string, done func(workflowPage) bool) workflowPage {
	t.Helper()
	const (
		attempts   = 3
		navTimeout = 45 * time.Second
		renderWait = time.Minute
		every      = 250 * time.Millisecond
	)
	var st workflowPage
	for attempt := 1; attempt <= attempts; attempt++ {
		nctx, cancel := context.WithTimeout(tab, navTimeout)
		err := chromedp.Do(nctx, chromedp.Navigate(url))
		cancel()
		if err != nil {
			t.Logf("attempt %d: navigate to %s: %v", attempt, url, err)
			if tab.Err() != nil {
				t.Fatalf("the browser tab is gone: %v", tab.Err())
			}
			continue
		}
		deadline := time.Now().Add(renderWait)
		for time.Now().Before(deadline) {
			rctx, cancel := context.WithTimeout(tab, 20*time.Second)
			got, err := chromedp.Run(rctx, chromedp.Evaluate[workflowPage](readWorkflowPage))
			cancel()
			if err == nil {
				st = got
				if done(st) {
					return st
				}
			} else if tab.Err() != nil {
				t.Fatalf("the browser tab is gone: %v", tab.Err())
			}
			time.Sleep(every)
		}
		t.Logf("attempt %d: after %s the page shows status %q, input %q (loading it again)", attempt, renderWait, st.Status, clipForLog(st.Input, 200))
	}
	return st
}

// saveScreenshot saves the whole page as <repo>/test-output/name and returns its path.
func saveScreenshot(t *testing.T, tab context.Context, name string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)) // 100: PNG
	require.NoError(t, err, "screenshot")
	dir, err := filepath.Abs(filepath.Join("..", "test-output"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	return path
}

func clipForLog(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// browserMarkEnv marks the processes of a test's browser through their environment. Chromium's
// zygotes start with a clean one, so their processes are found by the profile on their
// command line instead; the crash handlers, which detach from the browser, have no profile on
// theirs but keep the environment.
const browserMarkEnv = "XMR_ESCROW_TEST_BROWSER"

// newBrowser starts headless Debian chromium with the flags this machine needs (docs/design.md,
// "The Web UI test's browser"), a fresh profile and its own config and cache folders (so
// nothing lands in $HOME), and returns a tab's context whose events go to listen. The browser
// lives until the test ends: then it is stopped, and the test fails if any of its processes
// outlive it.
func newBrowser(t *testing.T, listen func(ev any)) context.Context {
	t.Helper()
	dir := t.TempDir() // removed after the cleanup below has stopped the browser
	profile := filepath.Join(dir, "profile")
	mark := browserMark{env: browserMarkEnv + "=" + dir, arg: "--user-data-dir=" + profile}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 900),
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Env(mark.env, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache")),
	}
	// Not the test's context: the cleanup alone ends the browser, after counting its processes.
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(listen))
	t.Cleanup(func() {
		running := len(browserProcesses(mark))
		cancelTab()
		cancelAlloc() // kills the browser and waits for it
		if left := reapBrowser(mark, 10*time.Second); len(left) > 0 {
			t.Errorf("chromium processes outlived the browser (killed now): %v", left)
		} else {
			t.Logf("chromium stopped: none of its %d processes is left", running)
		}
	})
	return tab
}

// browserMark recognises a browser's processes: by an environment entry or by an argument.
type browserMark struct{ env, arg string }

// reapBrowser waits up to grace for every process of the browser to exit, then kills the ones left
// and returns them.
func reapBrowser(mark browserMark, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		left := browserProcesses(mark)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var out []string
			for pid, cmd := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				out = append(out, fmt.Sprintf("%d %s", pid, clipForLog(cmd, 120)))
			}
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// browserProcesses returns the browser's live processes (pid: command line).
func browserProcesses(mark browserMark) map[int]string {
	out := map[int]string{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // gone
		}
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		// Chromium's children rewrite their title: one string with spaces, no NULs.
		args := strings.Fields(strings.ReplaceAll(string(cmdline), "\x00", " "))
		if slices.Contains(args, mark.arg) || slices.Contains(strings.Split(string(env), "\x00"), mark.env) {
			out[pid] = strings.Join(args, " ")
		}
	}
	return out
}
