package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// DefaultMaxBodyBytes caps a request body when ServerOptions.MaxBodyBytes is zero.
const DefaultMaxBodyBytes int64 = 1 << 20

// allowHeaders is what the Web UI sends: Authorization and Authorization-Extras (the OIDC
// id token) only when "pass access token" is on, which the UI allows for https endpoints.
const allowHeaders = "Content-Type, X-Namespace, Authorization, Authorization-Extras"

// ServerOptions configures NewHandler.
type ServerOptions struct {
	// Namespace is the only namespace served: the X-Namespace header must equal it.
	Namespace string
	// AllowedOrigins are the exact browser origins (scheme://host[:port]) allowed to call,
	// e.g. "http://127.0.0.1:8233" for the dev server's Web UI.
	AllowedOrigins []string
	// Token, if set, must arrive as "Authorization: Bearer <token>" or, from a browser on an
	// allowed origin, as the session cookie that GET and POST /login give for it.
	Token string
	// MaxBodyBytes caps a request body; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives one line per request (never payloads or headers); nil disables it.
	Logger *zap.Logger
}

type handler struct {
	codec     converter.PayloadCodec
	namespace string
	origins   map[string]bool
	token     *[sha256.Size]byte
	cookieKey []byte // HMAC key of the session cookie: the token itself
	limiter   *loginLimiter
	now       func() time.Time
	maxBody   int64
	log       *zap.Logger
}

// NewHandler serves the Temporal codec server protocol (POST /encode and POST /decode with
// a protojson {"payloads":[...]} body) for one namespace, CORS preflight for the allowed
// origins and, with a token, the /login and /logout pages of the session cookie. Mount it
// at the root, or under a prefix with http.StripPrefix.
func NewHandler(k *keyring.Keyring, o ServerOptions) (http.Handler, error) {
	if k == nil {
		return nil, errors.New("codec: handler needs a keyring")
	}
	if o.Namespace == "" {
		return nil, errors.New("codec: handler needs a namespace")
	}
	if o.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("codec: MaxBodyBytes %d is negative", o.MaxBodyBytes)
	}
	h := &handler{
		codec:     newDisplayCodec(k),
		namespace: o.Namespace,
		origins:   make(map[string]bool, len(o.AllowedOrigins)),
		limiter:   newLoginLimiter(loginBurst, loginRefill),
		now:       time.Now,
		maxBody:   o.MaxBodyBytes,
		log:       o.Logger,
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	for _, origin := range o.AllowedOrigins {
		norm, err := normalizeOrigin(origin)
		if err != nil {
			return nil, err
		}
		h.origins[norm] = true
	}
	if o.Token != "" {
		sum := sha256.Sum256([]byte(o.Token))
		h.token = &sum
		h.cookieKey = []byte(o.Token)
	}
	return h, nil
}

// normalizeOrigin accepts only scheme://host[:port], because browsers send exactly that
// and "*" cannot be combined with Access-Control-Allow-Credentials.
func normalizeOrigin(origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("codec: allowed origin %q is not scheme://host[:port]", origin)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	n, reason := h.serve(rec, r)
	level := zap.DebugLevel
	if rec.status >= 400 {
		level = zap.InfoLevel
	}
	if ce := h.log.Check(level, "codec request"); ce != nil {
		ce.Write(
			zap.String("method", r.Method),
			zap.String("path", r.URL.Path),
			zap.Int("status", rec.status),
			zap.Int("payloads", n),
			zap.String("origin", r.Header.Get("Origin")),
			zap.Duration("took", time.Since(start)),
			zap.String("reason", reason),
		)
	}
}

// serve answers the request and returns the number of payloads converted and, for a
// refusal, a reason that is safe to log (it never contains request content).
func (h *handler) serve(w http.ResponseWriter, r *http.Request) (int, string) {
	var op func([]*commonpb.Payload) ([]*commonpb.Payload, error)
	switch path.Clean(r.URL.Path) {
	case "/encode":
		op = h.codec.Encode
	case "/decode":
		op = h.codec.Decode
	case "/login":
		return h.login(w, r)
	case "/logout":
		return h.logout(w, r)
	default:
		return fail(w, http.StatusNotFound, "no such endpoint: use /encode, /decode, /login or /logout")
	}

	// Vary: the answer's CORS headers depend on Origin, so no cache may reuse it for another.
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin != "" {
		// A disallowed origin is refused outright rather than merely left unable to read
		// the answer: this also stops DNS-rebinding pages posing as same-origin.
		if !h.origins[strings.ToLower(origin)] {
			return fail(w, http.StatusForbidden, "origin not allowed")
		}
		// The origin itself, never "*": browsers drop a credentialed answer (the UI's fetch
		// with credentials: 'include') unless it names the origin and allows credentials.
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}

	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		h.preflight(w, r)
		return 0, ""
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		return fail(w, http.StatusMethodNotAllowed, "method not allowed: use POST")
	}

	if !h.authorized(r, origin != "") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="codec"`)
		return fail(w, http.StatusUnauthorized, "missing or wrong bearer token or session cookie (sign in at /login)")
	}
	switch ns := r.Header.Get("X-Namespace"); {
	case ns == "":
		// temporal CLI 1.5 sends an empty X-Namespace unless --namespace is given.
		return fail(w, http.StatusBadRequest, "missing X-Namespace header (temporal CLI: pass --namespace)")
	case ns != h.namespace:
		return fail(w, http.StatusForbidden, "namespace not served here")
	}
	// Requiring JSON also means a browser cannot send this without a CORS preflight.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	if r.ContentLength > h.maxBody {
		return fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.maxBody))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.maxBody))
		}
		return fail(w, http.StatusBadRequest, "cannot read body")
	}

	var in commonpb.Payloads
	err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, &in)
	clear(body)
	if err != nil {
		// protojson errors quote the input, which for /encode is plaintext.
		return fail(w, http.StatusBadRequest, `body is not {"payloads":[...]} in protobuf JSON`)
	}
	out, err := op(in.Payloads)
	if err != nil {
		// Codec errors are built from key ids and sentinels only, never payload bytes.
		return fail(w, http.StatusBadRequest, err.Error())
	}
	resp, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		return fail(w, http.StatusInternalServerError, "cannot marshal payloads")
	}
	w.Header().Set("Content-Type", "application/json")
	// Decoded payloads are secrets: keep them out of browser and proxy caches.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(resp)
	return len(out), ""
}

// preflight answers a CORS preflight; the origin was checked and echoed by the caller.
// Browsers send no credentials on a preflight, so it is not token-checked.
func (h *handler) preflight(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Allow", "POST, OPTIONS")
	if hd.Get("Access-Control-Allow-Origin") != "" {
		hd.Set("Access-Control-Allow-Methods", http.MethodPost)
		hd.Set("Access-Control-Allow-Headers", allowHeaders)
		hd.Set("Access-Control-Max-Age", "600")
		// Chrome's Private Network Access asks before a page reaches a loopback server.
		if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			hd.Set("Access-Control-Allow-Private-Network", "true")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// authorized accepts the bearer token, or the session cookie on a request from an allowed
// origin (checked by the caller): a cookie is only ever sent by a browser, and a browser
// always names the origin of a cross-origin POST, so a cookie without one is not the UI's.
// A wrong bearer does not hide a good cookie: the UI may forward its own OIDC token.
func (h *handler) authorized(r *http.Request, allowedOrigin bool) bool {
	if h.token == nil {
		return true
	}
	if scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok &&
		strings.EqualFold(scheme, "Bearer") && h.tokenMatches(strings.TrimSpace(cred)) {
		return true
	}
	return allowedOrigin && h.validCookie(r)
}

// tokenMatches compares in constant time; hashing first makes it constant-time in the
// token's length as well.
func (h *handler) tokenMatches(cred string) bool {
	if h.token == nil {
		return false
	}
	sum := sha256.Sum256([]byte(cred))
	return subtle.ConstantTimeCompare(sum[:], h.token[:]) == 1
}

func fail(w http.ResponseWriter, status int, reason string) (int, string) {
	http.Error(w, reason, status)
	return 0, reason
}

// statusRecorder remembers the status code for the request log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status before passing it on.
func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
