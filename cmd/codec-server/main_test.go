package main

import (
	"net"
	"strings"
	"testing"
)

func TestCheckToken(t *testing.T) {
	good := strings.Repeat("ab", 32) // openssl rand -hex 32
	loopback := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8089}
	v6loopback := &net.TCPAddr{IP: net.IPv6loopback, Port: 8089}
	anyV4 := &net.TCPAddr{IP: net.IPv4zero, Port: 8089}
	anyV6 := &net.TCPAddr{IP: net.IPv6unspecified, Port: 8089}
	lan := &net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 8089}

	for _, tc := range []struct {
		name  string
		token string
		addr  net.Addr
		want  string // "" means accepted; otherwise a part of the error
	}{
		{"loopback without token", "", loopback, ""},
		{"v6 loopback without token", "", v6loopback, ""},
		{"before binding without token", "", nil, ""},
		{"0.0.0.0 without token", "", anyV4, "openssl rand -hex 32"},
		{"[::] without token", "", anyV6, EnvToken},
		{"LAN without token", "", lan, "beyond loopback"},
		{"0.0.0.0 with token", good, anyV4, ""},
		{"loopback with token", good, loopback, ""},
		{"exactly 32", good[:MinTokenLen], anyV4, ""},
		{"short", good[:MinTokenLen-1], anyV4, "fewer than 32"},
		{"short on loopback", "s3cret", loopback, "fewer than 32"},
		{"short before binding", "s3cret", nil, EnvToken},
		{"placeholder", "REPLACE_ME_with_openssl_rand_hex_32", anyV4, "placeholder"},
		{"trailing newline", good + "\n", anyV4, "printable ASCII"},
		{"inner space", good[:20] + " " + good[20:], anyV4, "printable ASCII"},
	} {
		err := checkToken(tc.token, tc.addr)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s: accepted, want an error with %q", tc.name, tc.want)
		case err != nil && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.want)
		case err != nil && tc.token != "" && strings.Contains(err.Error(), tc.token):
			t.Errorf("%s: error repeats the token", tc.name)
		}
		if err != nil && !strings.Contains(err.Error(), "openssl rand -hex 32") {
			t.Errorf("%s: error %q does not say how to make a token", tc.name, err)
		}
	}
}
