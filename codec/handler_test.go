package codec

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/encoding/protojson"
)

const uiOrigin = "http://127.0.0.1:8233"

func newTestHandler(t *testing.T, mod func(*ServerOptions)) http.Handler {
	t.Helper()
	o := ServerOptions{Namespace: "default", AllowedOrigins: []string{uiOrigin, "http://localhost:8233"}}
	if mod != nil {
		mod(&o)
	}
	h, err := NewHandler(newKeyring(t, spec1), o)
	require.NoError(t, err)
	return h
}

// uiRequest builds what the Web UI's fetch sends: JSON body, X-Namespace, Origin.
func uiRequest(t *testing.T, path string, payloads ...*commonpb.Payload) *http.Request {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Namespace", "default")
	r.Header.Set("Origin", uiOrigin)
	return r
}

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func encrypted(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := DataConverter(newKeyring(t, spec1)).ToPayload(v)
	require.NoError(t, err)
	return p
}

func decodeBody(t *testing.T, w *httptest.ResponseRecorder) []*commonpb.Payload {
	t.Helper()
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(w.Body.Bytes(), &out))
	return out.Payloads
}

func TestHandlerDecode(t *testing.T) {
	h := newTestHandler(t, nil)
	w := do(h, uiRequest(t, "/decode", encrypted(t, secret)))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.Equal(t, uiOrigin, w.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"))

	// The Web UI reads the data field as base64 JSON, as protojson writes it.
	assert.Contains(t, w.Body.String(), base64.StdEncoding.EncodeToString([]byte(`"`+secret+`"`)))
	out := decodeBody(t, w)
	require.Len(t, out, 1)
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out[0], &s))
	assert.Equal(t, secret, s)
}

func TestHandlerEncodeThenDecode(t *testing.T) {
	h := newTestHandler(t, nil)
	plain, err := converter.GetDefaultDataConverter().ToPayload(secret)
	require.NoError(t, err)
	w := do(h, uiRequest(t, "/encode", plain))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.NotContains(t, w.Body.String(), base64.StdEncoding.EncodeToString(plain.Data))
	enc := decodeBody(t, w)
	require.Len(t, enc, 1)
	assert.True(t, IsEncrypted(enc[0]))

	var s string
	require.NoError(t, DataConverter(newKeyring(t, spec1)).FromPayload(enc[0], &s))
	assert.Equal(t, secret, s)
}

func TestHandlerDecodeWrongKey(t *testing.T) {
	h, err := NewHandler(newKeyring(t, spec2), ServerOptions{Namespace: "default"})
	require.NoError(t, err)
	r := uiRequest(t, "/decode", encrypted(t, secret))
	r.Header.Del("Origin")
	w := do(h, r)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "unknown key")
}

func TestHandlerNamespace(t *testing.T) {
	h := newTestHandler(t, nil)
	r := uiRequest(t, "/decode", encrypted(t, secret))
	r.Header.Set("X-Namespace", "other")
	assert.Equal(t, http.StatusForbidden, do(h, r).Code)

	r = uiRequest(t, "/decode", encrypted(t, secret))
	r.Header.Del("X-Namespace")
	assert.Equal(t, http.StatusBadRequest, do(h, r).Code)
}

func TestHandlerToken(t *testing.T) {
	h := newTestHandler(t, func(o *ServerOptions) { o.Token = "s3cret-token" })
	for name, auth := range map[string]string{
		"missing":     "",
		"wrong":       "Bearer nope",
		"prefix":      "Bearer s3cret",
		"wrong type":  "Basic s3cret-token",
		"no scheme":   "s3cret-token",
		"longer":      "Bearer s3cret-token2",
		"empty token": "Bearer ",
	} {
		r := uiRequest(t, "/decode", encrypted(t, secret))
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := do(h, r)
		assert.Equal(t, http.StatusUnauthorized, w.Code, name)
		assert.NotContains(t, w.Body.String(), "s3cret", name)
	}
	r := uiRequest(t, "/decode", encrypted(t, secret))
	r.Header.Set("Authorization", "Bearer s3cret-token")
	assert.Equal(t, http.StatusOK, do(h, r).Code)
}

func TestHandlerOversize(t *testing.T) {
	h := newTestHandler(t, func(o *ServerOptions) { o.MaxBodyBytes = 512 })
	big := &commonpb.Payload{Data: make([]byte, 1024)}
	assert.Equal(t, http.StatusRequestEntityTooLarge, do(h, uiRequest(t, "/encode", big)).Code)

	// Without a Content-Length the limit must still hold while reading.
	r := uiRequest(t, "/encode", big)
	r.ContentLength = -1
	assert.Equal(t, http.StatusRequestEntityTooLarge, do(h, r).Code)
}

func TestHandlerRoutes(t *testing.T) {
	h := newTestHandler(t, nil)
	r := uiRequest(t, "/decode")
	r.Method = http.MethodGet
	w := do(h, r)
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))

	assert.Equal(t, http.StatusNotFound, do(h, uiRequest(t, "/other")).Code)
	assert.Equal(t, http.StatusNotFound, do(h, uiRequest(t, "/decode/x")).Code)
	// A trailing slash on the configured endpoint makes the UI call "//decode".
	assert.Equal(t, http.StatusOK, do(h, uiRequest(t, "//decode")).Code)
}

func TestHandlerBadBody(t *testing.T) {
	h := newTestHandler(t, nil)
	r := uiRequest(t, "/encode")
	r.Body = io.NopCloser(strings.NewReader(`{"payloads": "` + secret + `"`))
	w := do(h, r)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.NotContains(t, w.Body.String(), secret, "error echoes the body")

	r = uiRequest(t, "/decode", encrypted(t, secret))
	r.Header.Set("Content-Type", "text/plain")
	assert.Equal(t, http.StatusUnsupportedMediaType, do(h, r).Code)
}

func preflight(origin string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, "/decode", nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
	return r
}

func TestHandlerPreflight(t *testing.T) {
	h := newTestHandler(t, func(o *ServerOptions) { o.Token = "tok" })
	for _, origin := range []string{uiOrigin, "http://localhost:8233"} {
		w := do(h, preflight(origin))
		assert.Equal(t, http.StatusNoContent, w.Code, "preflights carry no token")
		assert.Equal(t, origin, w.Header().Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "POST", w.Header().Get("Access-Control-Allow-Methods"))
		assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"))
		for _, hd := range []string{"Content-Type", "X-Namespace", "Authorization"} {
			assert.Contains(t, w.Header().Get("Access-Control-Allow-Headers"), hd)
		}
		assert.Contains(t, w.Header().Values("Vary"), "Origin")
	}

	for _, origin := range []string{"http://evil.example", "http://127.0.0.1:8234", "null"} {
		w := do(h, preflight(origin))
		assert.Equal(t, http.StatusForbidden, w.Code, origin)
		for k := range w.Header() {
			assert.False(t, strings.HasPrefix(k, "Access-Control-"), "%s got %s", origin, k)
		}
	}

	r := uiRequest(t, "/decode", encrypted(t, secret))
	r.Header.Set("Origin", "http://evil.example")
	r.Header.Set("Authorization", "Bearer tok")
	assert.Equal(t, http.StatusForbidden, do(h, r).Code, "POST from a foreign origin")

	r = preflight(uiOrigin)
	r.Header.Set("Access-Control-Request-Private-Network", "true")
	assert.Equal(t, "true", do(h, r).Header().Get("Access-Control-Allow-Private-Network"))
}

func TestNewHandlerValidates(t *testing.T) {
	k := newKeyring(t, spec1)
	_, err := NewHandler(nil, ServerOptions{Namespace: "default"})
	assert.Error(t, err)
	_, err = NewHandler(k, ServerOptions{})
	assert.Error(t, err)
	_, err = NewHandler(k, ServerOptions{Namespace: "default", MaxBodyBytes: -1})
	assert.Error(t, err)
	for _, bad := range []string{"*", "127.0.0.1:8233", "http://127.0.0.1:8233/ui", "ftp://x"} {
		_, err = NewHandler(k, ServerOptions{Namespace: "default", AllowedOrigins: []string{bad}})
		assert.Error(t, err, bad)
	}
	_, err = NewHandler(k, ServerOptions{Namespace: "default", AllowedOrigins: []string{"HTTP://LocalHost:8233/"}})
	assert.NoError(t, err)
}

// TestRemoteCodecClient checks the handler against the SDK's own HTTP codec client, which
// is what `temporal --codec-endpoint` uses.
func TestRemoteCodecClient(t *testing.T) {
	h := newTestHandler(t, func(o *ServerOptions) { o.Token = "tok" })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h) }()

	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: "http://" + ln.Addr().String(),
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("X-Namespace", "default")
			r.Header.Set("Authorization", "Bearer tok")
			return nil
		},
	})
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), remote)
	p, err := dc.ToPayload(msg{Info: secret, Round: 1})
	require.NoError(t, err)
	assert.True(t, IsEncrypted(p))
	var got msg
	require.NoError(t, DataConverter(newKeyring(t, spec1)).FromPayload(p, &got))
	assert.Equal(t, secret, got.Info)
	require.NoError(t, dc.FromPayload(encrypted(t, msg{Info: "x"}), &got))
	assert.Equal(t, "x", got.Info)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestHandlerLogsNoContent(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	h := newTestHandler(t, func(o *ServerOptions) { o.Logger = zap.New(core); o.Token = "tok-9f2c" })
	ok := uiRequest(t, "/decode", encrypted(t, secret))
	ok.Header.Set("Authorization", "Bearer tok-9f2c")
	bad := uiRequest(t, "/encode")
	bad.Header.Set("Authorization", "Bearer tok-9f2c")
	bad.Body = io.NopCloser(strings.NewReader(secret))
	unauth := uiRequest(t, "/decode", encrypted(t, secret))
	unauth.Header.Set("Authorization", "Bearer "+secret)
	for _, r := range []*http.Request{ok, bad, unauth} {
		do(h, r)
	}
	require.Equal(t, 3, logs.Len())
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			s := fmt.Sprint(v)
			assert.NotContains(t, s, secret, "field %s", k)
			assert.NotContains(t, s, "tok-9f2c", "field %s", k)
		}
	}
	assert.Equal(t, 1, logs.FilterField(zap.Int("status", http.StatusOK)).FilterField(zap.Int("payloads", 1)).Len())
}
