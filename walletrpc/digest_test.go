package walletrpc

import "testing"

func TestParseChallengesEpee(t *testing.T) {
	values := []string{
		`Digest qop="auth",algorithm=SHA-256,realm="monero-rpc",nonce="a+b/c==",stale=false`,
		`Digest qop="auth",algorithm=SHA-256-sess,realm="monero-rpc",nonce="a+b/c==",stale=false`,
		`Digest qop="auth",algorithm=MD5,realm="monero-rpc",nonce="a+b/c==",stale=true`,
		`Basic realm="x", Digest realm="r\"q", qop="auth-int, auth", nonce=bare==, opaque="o"`,
	}
	cs := parseChallenges(values)
	if len(cs) != 4 {
		t.Fatalf("parsed %d challenges: %+v", len(cs), cs)
	}
	if cs[2].algorithm != "MD5" || !cs[2].stale || cs[2].nonce != "a+b/c==" || cs[2].realm != "monero-rpc" {
		t.Fatalf("MD5 challenge %+v", cs[2])
	}
	if cs[3].realm != `r"q` || cs[3].nonce != "bare==" || cs[3].opaque != "o" || !qopHasAuth(cs[3].qop) {
		t.Fatalf("multi-challenge value %+v", cs[3])
	}
	best, ok := pickChallenge(cs)
	if !ok || best.algorithm != "SHA-256" {
		t.Fatalf("pick %+v %v", best, ok)
	}
	if _, ok := pickChallenge(parseChallenges([]string{`Basic realm="x"`, `Digest qop="auth-int"`, `garbage"=,`})); ok {
		t.Fatal("picked an unsupported challenge")
	}
}

func TestDigestResponseRFC2617(t *testing.T) {
	// The worked example from RFC 2617 section 3.5.
	got := digestResponse("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life", "GET", "/dir/index.html",
		"dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "auth")
	if got != "6629fae49393a05397450978507c4ef1" {
		t.Fatalf("response %s", got)
	}
}
