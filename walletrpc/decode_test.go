package walletrpc

import (
	"errors"
	"strings"
	"testing"
)

const testID = 7

var decodeSeeds = []string{
	`{"id":7,"jsonrpc":"2.0","result":{"version":65561,"release":false}}`,
	`{"id":"7","jsonrpc":"2.0","result":{"version":65561,"release":true}}`,
	`{"error":{"code":-13,"message":"No wallet file"},"id":7,"jsonrpc":"2.0"}`,
	`{"error":{"code":-32700,"message":"Parse error"},"id":0,"jsonrpc":"2.0"}`,
	`<html><head><title>Unauthorized Access</title></head><body><h1>401 Unauthorized</h1></body></html>`,
	``,
	`   `,
	`null`,
	`[]`,
	`"string"`,
	`{"jsonrpc":"2.0","id":7,"result":"string"}`,
	`{"jsonrpc":"2.0","id":"0"}`,
	`{"jsonrpc":"2.0","id":8,"result":{}}`,
	`{"jsonrpc":"2.0","id":7,"result":null}`,
	`{"jsonrpc":"2.0","id":7,"error":"boom"}`,
	`{"jsonrpc":"2.0","id":7,"error":{"message":"no code"}}`,
	`{"jsonrpc":"1.0","id":7,"result":{}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"version":-1}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"version":1}`,
	`{"jsonrpc":"2.0","id":7,"result":{},"error":null}`,
	`{"jsonrpc":"2.0","id":null,"result":{}}`,
	`{"jsonrpc":"2.0","id":7.0,"result":{}}`,
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantErr  string // "", "rpc", "protocol"
		wantCode int
		want     GetVersionResult
	}{
		{name: "good result", body: decodeSeeds[0], want: GetVersionResult{Version: 65561}},
		{name: "string id", body: decodeSeeds[1], want: GetVersionResult{Version: 65561, Release: true}},
		{name: "rpc error", body: decodeSeeds[2], wantErr: "rpc", wantCode: CodeNotOpen},
		{name: "parse error with id 0", body: decodeSeeds[3], wantErr: "rpc", wantCode: codeParseError},
		{name: "html page", body: decodeSeeds[4], wantErr: "protocol"},
		{name: "empty body", body: "", wantErr: "protocol"},
		{name: "whitespace body", body: "  \n", wantErr: "protocol"},
		{name: "null", body: "null", wantErr: "protocol"},
		{name: "array", body: "[]", wantErr: "protocol"},
		{name: "result is a string", body: decodeSeeds[10], wantErr: "protocol"},
		{name: "neither result nor error", body: decodeSeeds[11], wantErr: "protocol"},
		{name: "wrong id", body: decodeSeeds[12], wantErr: "protocol"},
		{name: "null result", body: decodeSeeds[13], wantErr: "protocol"},
		{name: "error is a string", body: decodeSeeds[14], wantErr: "protocol"},
		{name: "error without code", body: decodeSeeds[15], wantErr: "protocol"},
		{name: "wrong jsonrpc version", body: decodeSeeds[16], wantErr: "protocol"},
		{name: "negative into uint", body: decodeSeeds[17], wantErr: "protocol"},
		{name: "truncated", body: decodeSeeds[18], wantErr: "protocol"},
		{name: "null error is absent", body: decodeSeeds[19]},
		{name: "null id", body: decodeSeeds[20], wantErr: "protocol"},
		{name: "float id", body: decodeSeeds[21], wantErr: "protocol"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got GetVersionResult
			err := decodeResponse("get_version", testID, []byte(tc.body), &got)
			switch tc.wantErr {
			case "":
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got != tc.want {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			case "rpc":
				var rpcErr *RPCError
				if !errors.As(err, &rpcErr) {
					t.Fatalf("want *RPCError, got %T %v", err, err)
				}
				if rpcErr.Code != tc.wantCode || rpcErr.Method != "get_version" {
					t.Fatalf("got %+v, want code %d", rpcErr, tc.wantCode)
				}
			case "protocol":
				var pErr *protocolError
				if !errors.As(err, &pErr) {
					t.Fatalf("want *protocolError, got %T %v", err, err)
				}
				if pErr.Method != "get_version" || pErr.Reason == "" {
					t.Fatalf("bad protocol error %+v", pErr)
				}
			}
		})
	}
}

func TestDecodeResponseNilResult(t *testing.T) {
	if err := decodeResponse("store", 1, []byte(`{"id":1,"jsonrpc":"2.0","result":{}}`), nil); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	err := decodeResponse("store", 1, []byte(`{"id":1,"jsonrpc":"2.0"}`), nil)
	var pErr *protocolError
	if !errors.As(err, &pErr) {
		t.Fatalf("want *protocolError, got %v", err)
	}
}

// The error text must not echo large parts of the body: results can hold multisig secrets.
func TestDecodeResponseDoesNotEchoBody(t *testing.T) {
	secret := strings.Repeat("MultisigxV2R1secret", 10)
	err := decodeResponse("prepare_multisig", 1, []byte(`{"id":2,"jsonrpc":"2.0","result":{"multisig_info":"`+secret+`"}}`), &PrepareMultisigResult{})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error missing or leaks body: %v", err)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{nil, &GetVersionResult{}, &GetAddressResult{}, &IsMultisigResult{}, &MakeMultisigResult{}}
		for _, target := range targets {
			err := decodeResponse("fuzz", testID, body, target)
			if err == nil {
				continue
			}
			var rpcErr *RPCError
			var pErr *protocolError
			isRPC, isProto := errors.As(err, &rpcErr), errors.As(err, &pErr)
			if isRPC == isProto {
				t.Fatalf("error is not exactly one typed error: %T %v", err, err)
			}
			if isRPC && rpcErr.Method != "fuzz" {
				t.Fatalf("RPCError lost its method: %+v", rpcErr)
			}
			if isProto && (pErr.Method != "fuzz" || pErr.Reason == "") {
				t.Fatalf("protocolError incomplete: %+v", pErr)
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
		}
	})
}
