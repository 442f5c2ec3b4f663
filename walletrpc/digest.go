package walletrpc

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// challenge is one parsed "WWW-Authenticate: Digest ..." offer.
type challenge struct {
	realm     string
	nonce     string
	opaque    string
	algorithm string // canonical: "MD5" or "SHA-256"
	qop       string // raw qop list as offered
	stale     bool
}

// digestAuth holds the credentials and the server's current nonce for one Client.
//
// epee accepts a request only if its nc equals the server's own counter for the nonce,
// and any rejected request makes it mint a new nonce. Two requests racing on one nonce
// would therefore knock each other out, so authenticated calls are serialized through
// sem (wallet-rpc serves one request at a time anyway).
type digestAuth struct {
	username string
	password string
	sem      chan struct{}

	// Guarded by sem.
	chal *challenge
	nc   uint32
}

func newDigestAuth(username, password string) *digestAuth {
	return &digestAuth{username: username, password: password, sem: make(chan struct{}, 1)}
}

// lock waits for exclusive use of the nonce, giving up when ctx ends.
func (d *digestAuth) lock(ctx context.Context) error {
	select {
	case d.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *digestAuth) unlock() { <-d.sem }

// setChallenge adopts a fresh nonce; the count restarts at 1 for it.
func (d *digestAuth) setChallenge(c challenge) {
	d.chal = &c
	d.nc = 0
}

// reset forgets the nonce so the next call starts with an unauthenticated probe.
func (d *digestAuth) reset() {
	d.chal = nil
	d.nc = 0
}

// authorization builds the Authorization header for the next request on the current nonce.
func (d *digestAuth) authorization(httpMethod, uri string) string {
	d.nc++
	cnonce := rand.Text()
	nc := fmt.Sprintf("%08x", d.nc)
	c := d.chal
	resp := digestResponse(c.algorithm, d.username, c.realm, d.password, httpMethod, uri, c.nonce, nc, cnonce, "auth")
	var b strings.Builder
	b.WriteString("Digest ")
	fmt.Fprintf(&b, `username="%s", realm="%s", nonce="%s", uri="%s", algorithm=%s, response="%s", qop=auth, nc=%s, cnonce="%s"`,
		quoteEscape(d.username), quoteEscape(c.realm), quoteEscape(c.nonce), quoteEscape(uri), c.algorithm, resp, nc, cnonce)
	if c.opaque != "" {
		fmt.Fprintf(&b, `, opaque="%s"`, quoteEscape(c.opaque))
	}
	return b.String()
}

// digestResponse computes the RFC 7616 "response" value for qop=auth.
func digestResponse(algorithm, username, realm, password, httpMethod, uri, nonce, nc, cnonce, qop string) string {
	h := func(s string) string {
		var hf hash.Hash
		if algorithm == "SHA-256" {
			hf = sha256.New()
		} else {
			hf = md5.New()
		}
		hf.Write([]byte(s))
		return hex.EncodeToString(hf.Sum(nil))
	}
	ha1 := h(username + ":" + realm + ":" + password)
	ha2 := h(httpMethod + ":" + uri)
	return h(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
}

func quoteEscape(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// pickChallenge chooses the strongest offer we can answer: qop=auth with SHA-256, else MD5.
// The "-sess" variants are skipped because epee also offers the plain ones.
func pickChallenge(cs []challenge) (challenge, bool) {
	var best challenge
	bestRank := 0
	for _, c := range cs {
		if !qopHasAuth(c.qop) {
			continue
		}
		rank := 0
		switch c.algorithm {
		case "SHA-256":
			rank = 2
		case "MD5":
			rank = 1
		}
		if rank > bestRank {
			best, bestRank = c, rank
		}
	}
	return best, bestRank > 0
}

func qopHasAuth(qop string) bool {
	for _, f := range strings.FieldsFunc(qop, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if strings.EqualFold(f, "auth") {
			return true
		}
	}
	return false
}

// parseChallenges extracts the Digest challenges from WWW-Authenticate header values.
// It tolerates several challenges in one value and stops quietly at malformed input.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		var scheme string
		var params map[string]string
		flush := func() {
			if strings.EqualFold(scheme, "digest") {
				out = append(out, toChallenge(params))
			}
			scheme, params = "", nil
		}
		p := 0
		for p < len(v) {
			for p < len(v) && (v[p] == ' ' || v[p] == '\t' || v[p] == ',') {
				p++
			}
			start := p
			for p < len(v) && isTokenChar(v[p]) {
				p++
			}
			if p == start {
				break
			}
			name := v[start:p]
			q := p
			for q < len(v) && (v[q] == ' ' || v[q] == '\t') {
				q++
			}
			if q < len(v) && v[q] == '=' {
				q++
				for q < len(v) && (v[q] == ' ' || v[q] == '\t') {
					q++
				}
				val, next, ok := readParamValue(v, q)
				if !ok {
					break
				}
				p = next
				if params != nil {
					params[strings.ToLower(name)] = val
				}
				continue
			}
			flush()
			scheme, params = name, map[string]string{}
			p = q
		}
		flush()
	}
	return out
}

func toChallenge(params map[string]string) challenge {
	algo := strings.ToUpper(params["algorithm"])
	switch algo {
	case "", "MD5":
		algo = "MD5"
	case "SHA-256":
	default:
		algo = "unsupported:" + algo
	}
	return challenge{
		realm:     params["realm"],
		nonce:     params["nonce"],
		opaque:    params["opaque"],
		algorithm: algo,
		qop:       params["qop"],
		stale:     strings.EqualFold(params["stale"], "true"),
	}
}

// readParamValue reads a quoted-string (with backslash escapes) or a bare value from s[p:].
func readParamValue(s string, p int) (string, int, bool) {
	if p < len(s) && s[p] == '"' {
		var b strings.Builder
		for i := p + 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				return b.String(), i + 1, true
			default:
				b.WriteByte(s[i])
			}
		}
		return "", len(s), false
	}
	start := p
	for p < len(s) && s[p] != ',' && s[p] != ' ' && s[p] != '\t' {
		p++
	}
	return s[start:p], p, true
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
