package codec

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The Temporal Web UI cannot send a static bearer token, but with
// TEMPORAL_CODEC_INCLUDE_CREDENTIALS it fetches /decode with credentials: 'include', so the
// browser sends this server's cookies. An operator gets that cookie once per browser by
// pasting the token into GET /login.

const (
	// CookieName is the session cookie /login sets and /decode accepts instead of a bearer token.
	CookieName = "xmr_escrow_codec"
	// CookieMaxAge is how long a session cookie is valid, in the browser and here.
	CookieMaxAge = 12 * time.Hour

	// cookieLabel is the message the cookie's MAC signs: a leaked cookie jar yields a MAC, not
	// the token, so it cannot be replayed as a bearer token (CLI, scripts) and stops working at
	// its expiry. Deriving it from the token alone keeps the server stateless: every replica
	// and every restart accepts it, and changing the token signs everybody out.
	cookieLabel = "xmr-escrow codec session v1|"
	// maxLoginBody caps a /login form; the token is a few dozen characters.
	maxLoginBody = 4 << 10
	// loginCSP: the login pages load nothing, run nothing, post only to this server and cannot
	// be framed (no clickjacking of the form).
	loginCSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

// maxAgeText is CookieMaxAge for people.
var maxAgeText = fmt.Sprintf("%d hours", int(CookieMaxAge.Hours()))

// cookieValue is "<expiry unix seconds>.<base64url HMAC-SHA256(token, label|expiry)>".
func (h *handler) cookieValue(expiry time.Time) string {
	exp := strconv.FormatInt(expiry.Unix(), 10)
	return exp + "." + base64.RawURLEncoding.EncodeToString(h.cookieMAC(exp))
}

func (h *handler) cookieMAC(exp string) []byte {
	m := hmac.New(sha256.New, h.cookieKey)
	m.Write([]byte(cookieLabel + exp))
	return m.Sum(nil)
}

// validCookie reports whether r carries an unexpired session cookie signed with this token.
func (h *handler) validCookie(r *http.Request) bool {
	if h.cookieKey == nil {
		return false
	}
	// Several cookies of this name can arrive (e.g. one set by another server on the same
	// host, since cookies ignore ports): any valid one will do.
	for _, c := range r.CookiesNamed(CookieName) {
		exp, mac, ok := strings.Cut(c.Value, ".")
		if !ok {
			continue
		}
		unix, err := strconv.ParseInt(exp, 10, 64)
		if err != nil {
			continue
		}
		// An expiry further out than a fresh cookie's would be a forgery, which the MAC
		// check rejects anyway; refusing it first costs nothing.
		now := h.now()
		if left := time.Unix(unix, 0).Sub(now); left <= 0 || left > CookieMaxAge+time.Minute {
			continue
		}
		got, err := base64.RawURLEncoding.DecodeString(mac)
		if err != nil {
			continue
		}
		if hmac.Equal(got, h.cookieMAC(exp)) {
			return true
		}
	}
	return false
}

// sessionCookie builds the cookie /login sets (maxAge > 0) or /logout clears (maxAge < 0).
//
// SameSite=Strict still reaches /decode from the Web UI: the UI at http://127.0.0.1:8080 and
// this server at http://127.0.0.1:8089 are the same site, because a site is scheme plus host
// (registrable domain, or the IP address itself) and ignores the port. Strict keeps the cookie
// off every request started by another site, on top of the Origin check. It does not cover a
// UI opened as http://localhost:8080 against an endpoint at 127.0.0.1 (different sites): open
// both under the same host name.
func sessionCookie(r *http.Request, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		// A Secure cookie is never sent back over plain http, which is how the compose stack
		// serves this on loopback; behind TLS it must not leak onto http.
		Secure: r.TLS != nil,
	}
	if maxAge < 0 {
		c.Value = ""
		c.MaxAge = -1
	}
	return c
}

// login serves GET /login (the form) and POST /login (checks the token, sets the cookie).
func (h *handler) login(w http.ResponseWriter, r *http.Request) (int, string) {
	if h.token == nil {
		return fail(w, http.StatusNotFound, "no token is configured: nothing to sign in to")
	}
	// A token in a URL ends up in browser history, proxy and server logs: refuse it even
	// though it would never be read from there.
	if _, ok := r.URL.Query()["token"]; ok {
		return fail(w, http.StatusBadRequest, "never put the token in a URL: paste it into the form at /login")
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		page(w, http.StatusOK, "Paste XMR_ESCROW_CODEC_TOKEN to let this browser's Temporal Web UI "+
			"decode payloads here for "+maxAgeText+".", true)
		return 0, ""
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		return fail(w, http.StatusMethodNotAllowed, "method not allowed: use GET or POST")
	}
	if !sameOrigin(r) {
		// Stops another page from posting a token of its choosing (login CSRF) or using this
		// form as a token oracle from the operator's browser.
		return fail(w, http.StatusForbidden, "cross-origin sign-in refused")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded")
	}
	ip := remoteIP(r)
	if ok, wait := h.limiter.take(ip, h.now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		return fail(w, http.StatusTooManyRequests, "too many failed sign-ins: wait and try again")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		return fail(w, http.StatusBadRequest, "cannot read the form")
	}
	// PostForm, not Form: only the body counts, never the query string.
	if !h.tokenMatches(r.PostForm.Get("token")) {
		// No hint: the same answer for an empty, short, long or near-miss token.
		page(w, http.StatusUnauthorized, "Not signed in.", true)
		return 0, "wrong token"
	}
	h.limiter.refund(ip)
	http.SetCookie(w, sessionCookie(r, h.cookieValue(h.now().Add(CookieMaxAge)), CookieMaxAge))
	page(w, http.StatusOK, "Signed in; return to the Web UI. This browser stays signed in for "+
		maxAgeText+", or until the token changes.", false)
	return 0, ""
}

// logout clears the cookie. It needs no origin check: the worst another site can do is sign
// the operator out.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) (int, string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		return fail(w, http.StatusMethodNotAllowed, "method not allowed: use GET or POST")
	}
	http.SetCookie(w, sessionCookie(r, "", -1))
	page(w, http.StatusOK, "Signed out.", false)
	return 0, ""
}

// sameOrigin accepts a request without Origin (older browsers, curl) or whose Origin is this
// server as the browser addressed it. Sec-Fetch-Site, where sent, must agree.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	// Either scheme: behind a TLS-terminating proxy the browser says https while r.TLS is
	// nil. The host (with port) must match what the browser connected to.
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		strings.EqualFold(u.Host, r.Host)
}

// remoteIP is the TCP peer's address. X-Forwarded-For is ignored: any client can write it.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// page writes a small self-contained HTML page, with the sign-in form when form is set.
func page(w http.ResponseWriter, status int, msg string, form bool) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", loginCSP)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// No action attribute: the form posts back to this very URL, wherever the server is mounted.
	f := ""
	if form {
		f = `<form method="post"><label>Token <input type="password" name="token" required autofocus autocomplete="off"></label> <button type="submit">Sign in</button></form>`
	}
	_, _ = fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>xmr-escrow codec server</title></head><body><h1>xmr-escrow codec server</h1><p>%s</p>%s</body></html>`+"\n",
		html.EscapeString(msg), f)
}
