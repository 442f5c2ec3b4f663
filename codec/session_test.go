package codec

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// The compose stack's addresses: the Web UI and the codec server, both on 127.0.0.1.
const (
	stackUI    = "http://127.0.0.1:8080"
	stackCodec = "127.0.0.1:8089"
	testToken  = "0123456789abcdef0123456789abcdef-codec"
)

func newSessionHandler(t *testing.T, token string) *handler {
	t.Helper()
	h, err := NewHandler(newKeyring(t, spec1), ServerOptions{
		Namespace: "default", AllowedOrigins: []string{stackUI}, Token: token,
	})
	require.NoError(t, err)
	return h.(*handler)
}

// loginPost is what the /login form sends when the operator submits it.
func loginPost(token string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://"+stackCodec+"/login",
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://"+stackCodec)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.RemoteAddr = "172.18.0.1:40000"
	return r
}

func sessionFrom(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	return nil
}

// uiDecode is the Web UI's fetch with credentials: 'include', carrying cookie c.
func uiDecode(t *testing.T, c *http.Cookie) *http.Request {
	t.Helper()
	r := uiRequest(t, "/decode", encrypted(t, secret))
	r.Header.Set("Origin", stackUI)
	if c != nil {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func TestLoginCookieDecodes(t *testing.T) {
	h := newSessionHandler(t, testToken)

	w := do(h, httptest.NewRequest(http.MethodGet, "http://"+stackCodec+"/login", nil))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `<form method="post">`)
	assert.Contains(t, w.Body.String(), `name="token"`)
	assert.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'none'")
	assert.Contains(t, w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.NotContains(t, w.Body.String(), "<script")
	assert.NotContains(t, w.Body.String(), "src=")

	w = do(h, loginPost(testToken))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), "Signed in; return to the Web UI")
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	c := sessionFrom(t, w)
	require.NotNil(t, c, "no session cookie")
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.False(t, c.Secure, "plain http: a Secure cookie would never come back")
	assert.Equal(t, int(CookieMaxAge/time.Second), c.MaxAge)
	assert.NotContains(t, c.Value, testToken)
	assert.NotContains(t, w.Body.String(), testToken)

	w = do(h, uiDecode(t, c))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, stackUI, w.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, w.Header().Values("Vary"), "Origin")
	require.Len(t, decodeBody(t, w), 1)

	// A browser always names the origin of the UI's cross-origin fetch: a cookie without one
	// is not the UI's.
	r := uiDecode(t, c)
	r.Header.Del("Origin")
	assert.Equal(t, http.StatusUnauthorized, do(h, r).Code)

	// The cookie is no bearer token.
	r = uiDecode(t, nil)
	r.Header.Set("Authorization", "Bearer "+c.Value)
	assert.Equal(t, http.StatusUnauthorized, do(h, r).Code)

	// A wrong bearer (the UI forwarding its OIDC token) does not hide a good cookie.
	r = uiDecode(t, c)
	r.Header.Set("Authorization", "Bearer some-oidc-token")
	assert.Equal(t, http.StatusOK, do(h, r).Code)

	// The bearer still works on its own.
	r = uiRequest(t, "/decode", encrypted(t, secret))
	r.Header.Del("Origin")
	r.Header.Set("Authorization", "Bearer "+testToken)
	assert.Equal(t, http.StatusOK, do(h, r).Code)

	w = do(h, httptest.NewRequest(http.MethodGet, "http://"+stackCodec+"/logout", nil))
	require.Equal(t, http.StatusOK, w.Code)
	out := sessionFrom(t, w)
	require.NotNil(t, out)
	assert.Equal(t, -1, out.MaxAge)
	assert.Empty(t, out.Value)
}

func TestLoginWrongToken(t *testing.T) {
	h := newSessionHandler(t, testToken)
	for _, tok := range []string{"", "nope", testToken[:len(testToken)-1], testToken + "x", " " + testToken} {
		w := do(h, loginPost(tok))
		assert.Equal(t, http.StatusUnauthorized, w.Code, tok)
		assert.Nil(t, sessionFrom(t, w), tok)
		assert.NotContains(t, w.Body.String(), testToken)
		assert.Empty(t, w.Header().Values("Set-Cookie"))
	}
	// No cookie reaches /decode either.
	assert.Equal(t, http.StatusUnauthorized, do(h, uiDecode(t, nil)).Code)
}

func TestLoginRefusesCrossOriginAndURLs(t *testing.T) {
	h := newSessionHandler(t, testToken)
	for name, mod := range map[string]func(*http.Request){
		"foreign origin":      func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") },
		"the Web UI's page":   func(r *http.Request) { r.Header.Set("Origin", stackUI) },
		"other port":          func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:8090") },
		"null origin":         func(r *http.Request) { r.Header.Set("Origin", "null") },
		"sec-fetch same-site": func(r *http.Request) { r.Header.Del("Origin"); r.Header.Set("Sec-Fetch-Site", "same-site") },
		"sec-fetch cross":     func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
	} {
		r := loginPost(testToken)
		mod(r)
		w := do(h, r)
		assert.Equal(t, http.StatusForbidden, w.Code, name)
		assert.Nil(t, sessionFrom(t, w), name)
	}

	// No Origin at all (curl, older browsers) is allowed.
	r := loginPost(testToken)
	r.Header.Del("Origin")
	r.Header.Del("Sec-Fetch-Site")
	assert.Equal(t, http.StatusOK, do(h, r).Code)

	// The token is read from the form body only and refused in a URL.
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		r := httptest.NewRequest(m, "http://"+stackCodec+"/login?token="+testToken, nil)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := do(h, r)
		assert.Equal(t, http.StatusBadRequest, w.Code, m)
		assert.Nil(t, sessionFrom(t, w), m)
	}

	r = loginPost(testToken)
	r.Header.Set("Content-Type", "application/json")
	assert.Equal(t, http.StatusUnsupportedMediaType, do(h, r).Code)

	r = loginPost(testToken)
	r.Method = http.MethodPut
	assert.Equal(t, http.StatusMethodNotAllowed, do(h, r).Code)
}

func TestLoginCookieOfAnotherToken(t *testing.T) {
	other := newSessionHandler(t, "another-token-another-token-0000")
	w := do(other, loginPost("another-token-another-token-0000"))
	require.Equal(t, http.StatusOK, w.Code)
	c := sessionFrom(t, w)
	require.NotNil(t, c)

	h := newSessionHandler(t, testToken)
	assert.Equal(t, http.StatusUnauthorized, do(h, uiDecode(t, c)).Code)

	// Forged and mangled values.
	good := sessionFrom(t, do(h, loginPost(testToken)))
	require.NotNil(t, good)
	exp, mac, _ := strings.Cut(good.Value, ".")
	for _, v := range []string{"", testToken, mac, exp, exp + ".", "." + mac, exp + "1." + mac, exp + "." + mac[1:]} {
		assert.Equal(t, http.StatusUnauthorized, do(h, uiDecode(t, &http.Cookie{Name: CookieName, Value: v})).Code, v)
	}
	assert.Equal(t, http.StatusOK, do(h, uiDecode(t, good)).Code)

	// Without a token configured there is no session to sign in to, and cookies mean nothing.
	open := newSessionHandler(t, "")
	assert.Equal(t, http.StatusNotFound, do(open, loginPost(testToken)).Code)
}

func TestLoginCookieExpires(t *testing.T) {
	h := newSessionHandler(t, testToken)
	start := time.Now()
	h.now = func() time.Time { return start }
	c := sessionFrom(t, do(h, loginPost(testToken)))
	require.NotNil(t, c)
	assert.Equal(t, http.StatusOK, do(h, uiDecode(t, c)).Code)

	h.now = func() time.Time { return start.Add(CookieMaxAge - time.Second) }
	assert.Equal(t, http.StatusOK, do(h, uiDecode(t, c)).Code)
	h.now = func() time.Time { return start.Add(CookieMaxAge) }
	assert.Equal(t, http.StatusUnauthorized, do(h, uiDecode(t, c)).Code)

	// Another replica (or a restart) with the same token accepts it: no server state.
	replica := newSessionHandler(t, testToken)
	replica.now = func() time.Time { return start.Add(time.Hour) }
	assert.Equal(t, http.StatusOK, do(replica, uiDecode(t, c)).Code)
}

func TestLoginSecureOverTLS(t *testing.T) {
	h := newSessionHandler(t, testToken)
	r := loginPost(testToken)
	r.TLS = &tls.ConnectionState{}
	r.Header.Set("Origin", "https://"+stackCodec)
	c := sessionFrom(t, do(h, r))
	require.NotNil(t, c)
	assert.True(t, c.Secure)
}

func TestLoginRateLimit(t *testing.T) {
	h := newSessionHandler(t, testToken)
	now := time.Now()
	h.now = func() time.Time { return now }
	for i := range loginBurst {
		assert.Equal(t, http.StatusUnauthorized, do(h, loginPost("wrong")).Code, "attempt %d", i)
	}
	w := do(h, loginPost("wrong"))
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "6", w.Header().Get("Retry-After"))
	// Even the right token waits: otherwise the limit would tell right from wrong.
	w = do(h, loginPost(testToken))
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Nil(t, sessionFrom(t, w))

	// Another address has its own bucket.
	r := loginPost(testToken)
	r.RemoteAddr = "192.0.2.7:5555"
	assert.Equal(t, http.StatusOK, do(h, r).Code)

	// One attempt comes back per loginRefill; a success costs nothing.
	now = now.Add(loginRefill)
	assert.Equal(t, http.StatusOK, do(h, loginPost(testToken)).Code)
	assert.Equal(t, http.StatusOK, do(h, loginPost(testToken)).Code)
	assert.Equal(t, http.StatusUnauthorized, do(h, loginPost("wrong")).Code)
	assert.Equal(t, http.StatusTooManyRequests, do(h, loginPost(testToken)).Code)
}

func TestLoginLimiterBounded(t *testing.T) {
	l := newLoginLimiter(1, time.Hour)
	now := time.Now()
	for i := range maxLoginBuckets + 10 {
		ip := "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
		ok, _ := l.take(ip, now)
		if i < maxLoginBuckets {
			assert.True(t, ok, ip)
		}
	}
	assert.LessOrEqual(t, len(l.buckets), maxLoginBuckets+1)
	// Fresh addresses past the bound share one bucket: they buy no extra attempts.
	ok, _ := l.take("10.99.0.1", now)
	assert.False(t, ok)
}

func TestCredentialedPreflight(t *testing.T) {
	h := newSessionHandler(t, testToken)
	r := httptest.NewRequest(http.MethodOptions, "http://"+stackCodec+"/decode", nil)
	r.Header.Set("Origin", stackUI)
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
	w := do(h, r)
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, stackUI, w.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, w.Header().Values("Vary"), "Origin")
	for _, hd := range []string{"Content-Type", "X-Namespace", "Authorization"} {
		assert.Contains(t, w.Header().Get("Access-Control-Allow-Headers"), hd)
	}
	assert.Empty(t, w.Header().Values("Set-Cookie"))
}

func TestLoginLogsNoToken(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	h, err := NewHandler(newKeyring(t, spec1), ServerOptions{
		Namespace: "default", AllowedOrigins: []string{stackUI}, Token: testToken, Logger: zap.New(core),
	})
	require.NoError(t, err)
	c := sessionFrom(t, do(h, loginPost(testToken)))
	require.NotNil(t, c)
	do(h, loginPost("wrong-"+testToken))
	do(h, uiDecode(t, c))
	require.Equal(t, 3, logs.Len())
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			s := fmt.Sprint(v)
			assert.NotContains(t, s, testToken, "field %s", k)
			assert.NotContains(t, s, c.Value, "field %s", k)
		}
	}
}
