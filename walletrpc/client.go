// Package walletrpc is a typed client for monero-wallet-rpc's JSON-RPC 2.0 interface.
//
// Every call carries a deadline, speaks HTTP digest auth when credentials are set, and
// fails with one of three typed errors (*RPCError, *TransportError, or a protocol error
// for an answer that is not valid JSON-RPC) so activities can decide between retrying and failing without reading message text.
// The package never logs: request params and results carry wallet secrets.
//
// # Why it is hand-written
//
// No maintained Go client speaks v0.18 multisig. The known ones
// (github.com/moneropay/go-monero, github.com/omani/go-monero-rpc-client and the
// clients derived from it) call prepare_multisig without
// enable_multisig_experimental. Without that flag, v0.18 refuses every multisig
// call after make_multisig ("multisig is disabled"; see docs/design.md). They also
// have no exchange_multisig_keys, which runs every key-exchange round after
// make_multisig. All of them leave digest auth to a generic http.RoundTripper.
//
// Generic digest transports do not do what epee, monero's HTTP server, demands
// (checked against monero-wallet-rpc v0.18.0.0 and v0.18.5.3):
//   - epee keeps one nonce per TCP connection, with a count of the authenticated
//     requests made on it. A request passes only if its nonce is that
//     connection's and its nc is exactly the new count: 00000001, 00000002, …
//     in order, with no gap and no repeat.
//   - Any request that does not pass makes epee mint a new nonce for the
//     connection, restart the count and answer 401. That covers a wrong nc, a
//     nonce from another connection and a request with no Authorization header.
//     The answer says stale=true when only the nonce or nc was wrong.
//
// A transport that makes a new challenge for every request (always nc=1) pays two
// round trips per call. One that counts nc per host and does not serialize gets
// 401s as soon as two calls overlap or its pool switches connections. So
// digest.go keeps the nonce and counts nc itself, from 1 for each new nonce. It
// serializes authenticated calls, so a nonce never has two requests in flight.
// After a 401 with stale=true it adopts the new nonce and answers again with
// nc=1; that also covers a request that went out on a new connection. A 401 with
// stale=false in reply to an authenticated request means wrong credentials.
// v0.18.0.0 and v0.18.5.3 offer MD5 only (qop=auth, plus MD5-sess); SHA-256 is preferred
// where a server offers it.
package walletrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// defaultTimeout bounds a call whose context has no earlier deadline; create_wallet and
// open_wallet take seconds of CPU, so this is generous.
const defaultTimeout = 60 * time.Second

// maxResponseBytes caps how much of a response body is read, so a broken or hostile
// endpoint cannot exhaust memory.
const maxResponseBytes = 16 << 20

// Config says how to reach one wallet-rpc instance.
type Config struct {
	URL        string        // base URL, e.g. http://127.0.0.1:18083 (client appends /json_rpc)
	Username   string        // for --rpc-login (HTTP digest auth); empty = no auth
	Password   string        // for --rpc-login
	Timeout    time.Duration // per-call deadline applied when ctx has none shorter; default 60s
	HTTPClient *http.Client  // optional; its own Timeout should be zero, deadlines come from ctx
	// Observe, if set, is told about every call (method, duration, error), for metrics.
	// It must not block; it never sees params or results.
	Observe func(method string, d time.Duration, err error)
}

// Client talks to one wallet-rpc process; it is safe for concurrent use.
type Client struct {
	transport
}

// transport is the JSON-RPC-over-HTTP machinery (deadlines, digest auth, response
// checks) that Client and Daemon share, since monerod speaks the same epee dialect.
type transport struct {
	baseURL  string
	endpoint string
	timeout  time.Duration
	hc       *http.Client
	auth     *digestAuth
	nextID   atomic.Uint64
	observe  func(method string, d time.Duration, err error)
}

// New builds a Client; it does not contact the server, so a wallet-rpc that is still
// starting up is fine.
func New(cfg Config) *Client {
	c := &Client{}
	c.init(cfg)
	return c
}

// init fills t from cfg; a method rather than a constructor because transport holds an
// atomic counter and must not be copied after use.
func (t *transport) init(cfg Config) {
	base := strings.TrimRight(cfg.URL, "/")
	t.baseURL = base
	t.endpoint = base + "/json_rpc"
	t.timeout = cfg.Timeout
	t.hc = cfg.HTTPClient
	if t.timeout <= 0 {
		t.timeout = defaultTimeout
	}
	if t.hc == nil {
		t.hc = &http.Client{}
	}
	if cfg.Username != "" {
		t.auth = newDigestAuth(cfg.Username, cfg.Password)
	}
	t.observe = cfg.Observe
}

// URL returns the base URL, which identifies the wallet-rpc instance (e.g. in task queue names).
func (c *Client) URL() string { return c.baseURL }

// Call performs one JSON-RPC call; params may be nil (send {} ), result may be nil.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	start := time.Now()
	err := c.call(ctx, method, params, result)
	if c.observe != nil {
		c.observe(method, time.Since(start), err)
	}
	if err != nil {
		return fmt.Errorf("walletrpc %s: %w", method, err)
	}
	return nil
}

func (c *transport) call(ctx context.Context, method string, params, result any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	id := c.nextID.Add(1)
	body, err := encodeRequest(id, method, params)
	if err != nil {
		return err
	}
	respBody, err := c.roundTrip(ctx, method, body)
	if err != nil {
		return err
	}
	return decodeResponse(method, id, respBody, result)
}

type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

func encodeRequest(id uint64, method string, params any) ([]byte, error) {
	if params == nil {
		params = struct{}{}
	}
	body, err := json.Marshal(request{JSONRPC: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		// A programming error, not a server fault: deliberately untyped so it is not retried.
		return nil, fmt.Errorf("encode params: %w", err)
	}
	return body, nil
}

// httpResult is a fully read HTTP response.
type httpResult struct {
	status int
	header http.Header
	body   []byte
}

// roundTrip sends body and returns the 2xx response body, handling digest auth.
func (c *transport) roundTrip(ctx context.Context, method string, body []byte) ([]byte, error) {
	if c.auth == nil {
		res, err := c.post(ctx, method, body, "")
		if err != nil {
			return nil, err
		}
		return c.checkStatus(method, res)
	}

	if err := c.auth.lock(ctx); err != nil {
		return nil, &TransportError{Method: method, Err: err}
	}
	defer c.auth.unlock()

	// At most: one probe (no nonce yet), one answer to it, one retry after a stale nonce.
	for range 3 {
		authz := ""
		if c.auth.chal != nil {
			authz = c.auth.authorization(http.MethodPost, c.requestURI())
		}
		res, err := c.post(ctx, method, body, authz)
		if err != nil {
			return nil, err
		}
		if res.status != http.StatusUnauthorized {
			return c.checkStatus(method, res)
		}
		chal, ok := pickChallenge(parseChallenges(res.header.Values("Www-Authenticate")))
		if !ok {
			c.auth.reset()
			return nil, &TransportError{Method: method, StatusCode: res.status,
				Err: fmt.Errorf("%w: no supported digest challenge", ErrUnauthorized)}
		}
		if authz != "" && !chal.stale {
			// Our answer was checked and refused: wrong username or password.
			c.auth.reset()
			return nil, &TransportError{Method: method, StatusCode: res.status, Err: ErrUnauthorized}
		}
		c.auth.setChallenge(chal)
	}
	c.auth.reset()
	return nil, &TransportError{Method: method, StatusCode: http.StatusUnauthorized,
		Err: fmt.Errorf("%w: server kept reporting a stale nonce", ErrUnauthorized)}
}

// requestURI is the digest "uri" value; epee compares it with the request line verbatim.
func (c *transport) requestURI() string {
	u, err := url.Parse(c.endpoint)
	if err != nil {
		return "/json_rpc"
	}
	return u.RequestURI()
}

func (c *transport) checkStatus(method string, res *httpResult) ([]byte, error) {
	if res.status < 200 || res.status > 299 {
		var err error = errors.New("unexpected HTTP status")
		if res.status == http.StatusUnauthorized {
			err = ErrUnauthorized
		}
		return nil, &TransportError{Method: method, StatusCode: res.status, Err: err}
	}
	return res.body, nil
}

func (c *transport) post(ctx context.Context, method string, body []byte, authz string) (*httpResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		// A malformed URL is configuration, not a transient fault: untyped, so not retried.
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &TransportError{Method: method, Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, &TransportError{Method: method, Err: fmt.Errorf("read response: %w", err)}
	}
	if len(data) > maxResponseBytes {
		return nil, &protocolError{Method: method, Reason: fmt.Sprintf("response body exceeds %d bytes", maxResponseBytes)}
	}
	return &httpResult{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// response is the JSON-RPC 2.0 envelope; raw fields let us tell absent from null.
type response struct {
	JSONRPC *string         `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
}

type errorObject struct {
	Code    *int   `json:"code"`
	Message string `json:"message"`
}

// decodeResponse validates a JSON-RPC response body for request id and fills result.
// It is pure so it can be fuzzed; it returns nil, *RPCError or *protocolError.
func decodeResponse(method string, id uint64, body []byte, result any) error {
	protoErr := func(format string, args ...any) error {
		return &protocolError{Method: method, Reason: fmt.Sprintf(format, args...)}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return protoErr("empty response body")
	}
	if trimmed[0] != '{' {
		return protoErr("response is not a JSON object (starts with %q)", snippet(trimmed))
	}
	var resp response
	if err := json.Unmarshal(trimmed, &resp); err != nil {
		return protoErr("invalid JSON response: %v", err)
	}
	if resp.JSONRPC != nil && *resp.JSONRPC != "2.0" {
		return protoErr("unexpected jsonrpc version %q", snippet([]byte(*resp.JSONRPC)))
	}
	if present(resp.Error) {
		var eo errorObject
		if err := json.Unmarshal(resp.Error, &eo); err != nil {
			return protoErr("malformed error object: %v", err)
		}
		if eo.Code == nil {
			return protoErr("error object without code")
		}
		// The id is not checked here: epee answers unparseable requests with id 0.
		return &RPCError{Method: method, Code: *eo.Code, Message: eo.Message}
	}
	if !idMatches(resp.ID, id) {
		return protoErr("response id %s does not match request id %d", snippet(resp.ID), id)
	}
	if !present(resp.Result) {
		return protoErr("response has neither result nor error")
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Result, result); err != nil {
		return protoErr("result does not fit %T: %v", result, err)
	}
	return nil
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// idMatches accepts the id as a number or a decimal string, since servers echo either.
func idMatches(raw json.RawMessage, want uint64) bool {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return false
		}
		s = str
	}
	got, err := strconv.ParseUint(s, 10, 64)
	return err == nil && got == want
}

// snippet shortens untrusted server text for an error message.
func snippet(b []byte) string {
	const limit = 32
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}
