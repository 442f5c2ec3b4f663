package walletrpc

import (
	"fmt"
	"strings"
	"testing"
)

func TestRedactedStrings(t *testing.T) {
	for _, v := range []any{
		CreateWalletRequest{Filename: "f", Password: "pw-secret"},
		OpenWalletRequest{Filename: "f", Password: "pw-secret"},
		MakeMultisigRequest{MultisigInfo: []string{"MultisigxV2-secret"}, Threshold: 2, Password: "pw-secret"},
		ExchangeMultisigKeysRequest{MultisigInfo: []string{"MultisigxV2-secret"}},
		PrepareMultisigResult{MultisigInfo: "MultisigxV2-secret"},
		MakeMultisigResult{MultisigInfo: "MultisigxV2-secret"},
		ExchangeMultisigKeysResult{MultisigInfo: "MultisigxV2-secret"},
	} {
		for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%v %+v %s", v, v, v)} {
			if strings.Contains(s, "secret") {
				t.Errorf("%T leaks: %s", v, s)
			}
		}
	}
}
