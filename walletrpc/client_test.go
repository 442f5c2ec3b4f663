package walletrpc

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// digestServer mimics epee's digest auth (contrib/epee/src/http_auth.cpp): one nonce at a
// time, nc must equal the server's own count for that nonce, and every rejected request
// mints a fresh nonce (stale=true when only the nonce or count was off).
type digestServer struct {
	t        *testing.T
	user     string
	pass     string
	mu       sync.Mutex
	nonce    string
	counter  uint32
	seq      int
	requests int
	unauth   int
	ncSeen   []string
	nonces   []string
}

var authFieldRE = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|[^,\s]+)`)

func parseAuthHeader(h string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(h, "Digest ")
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, m := range authFieldRE.FindAllStringSubmatch(rest, -1) {
		out[m[1]] = m[2]
	}
	return out, true
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (s *digestServer) newNonce() {
	s.seq++
	s.nonce = fmt.Sprintf("nonce-%d==", s.seq)
	s.counter = 0
}

// rotate simulates a wallet-rpc restart: the nonce the client holds becomes unknown.
func (s *digestServer) rotate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newNonce()
}

func (s *digestServer) challenge(w http.ResponseWriter, stale bool) {
	s.newNonce()
	s.unauth++
	for _, algo := range []string{"MD5", "MD5-sess"} {
		w.Header().Add("WWW-authenticate", fmt.Sprintf(`Digest qop="auth",algorithm=%s,realm="monero-rpc",nonce="%s",stale=%t`, algo, s.nonce, stale))
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, "<html><body><h1>401 Unauthorized</h1></body></html>")
}

func (s *digestServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	h := r.Header.Get("Authorization")
	if h == "" {
		s.challenge(w, false)
		return
	}
	s.counter++
	f, ok := parseAuthHeader(h)
	if !ok {
		s.challenge(w, false)
		return
	}
	unq := func(k string) string { v, _ := strconv.Unquote(f[k]); return v }
	// Header format as epee parses it: quoted strings, bare algorithm/qop/nc tokens.
	for _, k := range []string{"username", "realm", "nonce", "uri", "response", "cnonce"} {
		if !strings.HasPrefix(f[k], `"`) {
			s.t.Errorf("field %s not quoted in %q", k, h)
		}
	}
	if f["algorithm"] != "MD5" || f["qop"] != "auth" || !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(f["nc"]) {
		s.t.Errorf("bad algorithm/qop/nc in %q", h)
	}
	if unq("uri") != r.URL.RequestURI() || unq("realm") != "monero-rpc" {
		s.t.Errorf("bad uri/realm in %q", h)
	}
	s.ncSeen = append(s.ncSeen, f["nc"])
	s.nonces = append(s.nonces, unq("nonce"))
	ha1 := md5hex(s.user + ":monero-rpc:" + s.pass)
	ha2 := md5hex(r.Method + ":" + unq("uri"))
	want := md5hex(ha1 + ":" + unq("nonce") + ":" + f["nc"] + ":" + unq("cnonce") + ":auth:" + ha2)
	if unq("username") != s.user || unq("response") != want {
		s.challenge(w, false)
		return
	}
	nc, _ := strconv.ParseUint(f["nc"], 16, 32)
	if unq("nonce") != s.nonce || uint32(nc) != s.counter {
		s.challenge(w, true)
		return
	}
	serveJSON(w, r, map[string]any{"version": 65561, "release": false})
}

// serveJSON answers a JSON-RPC request with result, echoing its id.
func serveJSON(w http.ResponseWriter, r *http.Request, result any) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
}

func newDigestServer(t *testing.T) (*digestServer, *httptest.Server) {
	ds := &digestServer{t: t, user: "user", pass: "s3cret"}
	srv := httptest.NewServer(ds)
	t.Cleanup(srv.Close)
	return ds, srv
}

func TestDigestAuthReusesNonce(t *testing.T) {
	ds, srv := newDigestServer(t)
	c := New(Config{URL: srv.URL + "/", Username: "user", Password: "s3cret"})
	ctx := context.Background()
	for i := range 3 {
		v, err := c.GetVersion(ctx)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if v.Version != 65561 || v.Major() != 1 || v.Minor() != 25 {
			t.Fatalf("version %+v", v)
		}
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.requests != 4 || ds.unauth != 1 {
		t.Fatalf("requests=%d unauthorized=%d, want 4 and 1 (one probe, then nonce reuse)", ds.requests, ds.unauth)
	}
	if got := strings.Join(ds.ncSeen, ","); got != "00000001,00000002,00000003" {
		t.Fatalf("nc sequence %s", got)
	}
	if ds.nonces[0] != ds.nonces[2] {
		t.Fatalf("nonce not reused: %v", ds.nonces)
	}
}

func TestDigestAuthStaleNonce(t *testing.T) {
	ds, srv := newDigestServer(t)
	c := New(Config{URL: srv.URL, Username: "user", Password: "s3cret"})
	ctx := context.Background()
	if _, err := c.GetVersion(ctx); err != nil {
		t.Fatal(err)
	}
	ds.rotate()
	if _, err := c.GetVersion(ctx); err != nil {
		t.Fatalf("after stale nonce: %v", err)
	}
	if _, err := c.GetVersion(ctx); err != nil {
		t.Fatalf("after re-auth: %v", err)
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	// probe+ok, stale+ok, ok
	if ds.requests != 5 || ds.unauth != 2 {
		t.Fatalf("requests=%d unauthorized=%d, want 5 and 2", ds.requests, ds.unauth)
	}
	if got := strings.Join(ds.ncSeen, ","); got != "00000001,00000002,00000001,00000002" {
		t.Fatalf("nc sequence %s", got)
	}
}

func TestDigestAuthWrongPassword(t *testing.T) {
	ds, srv := newDigestServer(t)
	c := New(Config{URL: srv.URL, Username: "user", Password: "wrong"})
	_, err := c.GetVersion(context.Background())
	var te *TransportError
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized || !isUnauthorized(err) {
		t.Fatalf("want 401 TransportError, got %T %v", err, err)
	}
	if IsRetryable(err) {
		t.Fatal("bad credentials must not be retryable")
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("error leaks the password: %v", err)
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.requests != 2 {
		t.Fatalf("requests=%d, want 2 (probe and one refused answer, no loop)", ds.requests)
	}
}

func TestDigestAuthNoCredentials(t *testing.T) {
	_, srv := newDigestServer(t)
	_, err := New(Config{URL: srv.URL}).GetVersion(context.Background())
	if !isUnauthorized(err) || IsRetryable(err) {
		t.Fatalf("want non-retryable unauthorized, got %v", err)
	}
}

// Concurrent calls must not break epee's strict nc ordering.
func TestDigestAuthConcurrent(t *testing.T) {
	ds, srv := newDigestServer(t)
	c := New(Config{URL: srv.URL, Username: "user", Password: "s3cret"})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := c.GetVersion(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.unauth != 1 {
		t.Fatalf("unauthorized=%d, want only the first probe", ds.unauth)
	}
}

func TestRequestEnvelope(t *testing.T) {
	var got map[string]json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/json_rpc" || r.Method != http.MethodPost {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &got)
		fmt.Fprintf(w, `{"id":%s,"jsonrpc":"2.0","result":{}}`, got["id"])
	}))
	defer srv.Close()
	if err := New(Config{URL: srv.URL}).Store(context.Background()); err != nil {
		t.Fatal(err)
	}
	if string(got["jsonrpc"]) != `"2.0"` || string(got["method"]) != `"store"` || string(got["params"]) != `{}` {
		t.Fatalf("envelope %v", got)
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = New(Config{URL: "http://" + addr}).GetVersion(context.Background())
	var te *TransportError
	if !errors.As(err, &te) || te.Method != "get_version" || te.StatusCode != 0 {
		t.Fatalf("want *TransportError, got %T %v", err, err)
	}
	if !IsRetryable(err) {
		t.Fatal("connection refused must be retryable")
	}
	if !strings.HasPrefix(err.Error(), "walletrpc get_version: ") {
		t.Fatalf("missing context: %v", err)
	}
}

// hangingServer accepts requests and never answers until the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

func TestContextDeadlineHonoured(t *testing.T) {
	srv := hangingServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := New(Config{URL: srv.URL}).GetVersion(ctx)
	var te *TransportError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || !IsRetryable(err) {
		t.Fatalf("want retryable deadline TransportError, got %T %v", err, err)
	}
}

func TestConfigTimeoutApplied(t *testing.T) {
	srv := hangingServer(t)
	_, err := New(Config{URL: srv.URL, Timeout: 200 * time.Millisecond}).IsMultisig(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || !IsRetryable(err) {
		t.Fatalf("want retryable deadline error, got %v", err)
	}
}

func TestContextCanceledNotRetryable(t *testing.T) {
	srv := hangingServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := New(Config{URL: srv.URL, Username: "u", Password: "p"}).GetVersion(ctx)
	if !errors.Is(err, context.Canceled) || IsRetryable(err) {
		t.Fatalf("want non-retryable cancellation, got %v", err)
	}
}

func TestHTTPStatusAndGarbage(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		status    int
		protocol  bool
		retryable bool
	}{
		{"bad gateway", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		}, 502, false, true},
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, 404, false, false},
		{"html with 200", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>proxy login</html>")
		}, 0, true, true},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"id":1,"jsonrpc":"2.0","result":{"address":"`)
			chunk := strings.Repeat("a", 1<<20)
			for range 17 {
				io.WriteString(w, chunk)
			}
			io.WriteString(w, `"}}`)
		}, 0, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, err := New(Config{URL: srv.URL}).GetAddress(context.Background(), GetAddressRequest{})
			var te *TransportError
			var pe *protocolError
			switch {
			case tc.protocol && !errors.As(err, &pe):
				t.Fatalf("want *protocolError, got %T %v", err, err)
			case !tc.protocol && (!errors.As(err, &te) || te.StatusCode != tc.status):
				t.Fatalf("want TransportError %d, got %T %v", tc.status, err, err)
			}
			if IsRetryable(err) != tc.retryable {
				t.Fatalf("IsRetryable = %v for %v", !tc.retryable, err)
			}
		})
	}
}
