package activities

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// MoneroVersionReport is what a wallet-rpc's get_version tells about the multisig fixes it has.
// wallet-rpc reports its RPC interface version, not the Monero release, so the release is
// a range: the releases that shipped that interface version.
type MoneroVersionReport struct {
	// Version is get_version's raw value, major<<16 | minor.
	Version uint32 `json:"version"`
	// Major and Minor unpack Version (WALLET_RPC_VERSION_MAJOR/MINOR in Monero's source).
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
	// Release is get_version's release flag; Debian's builds (0.18.0.0, 0.18.5.3) say false.
	Release bool `json:"release"`
	// Releases names the Monero releases with this interface version, such as
	// "v0.18.0.0–v0.18.1.1", or says why it cannot.
	Releases string `json:"releases"`
	// Missing lists the fixes this instance lacks or may lack, oldest first; empty when it
	// has every fix the money rules were written around.
	Missing []MissingFix `json:"missing,omitempty"`
}

// MissingFix is one upstream multisig fix a wallet-rpc lacks.
type MissingFix struct {
	// Release is the first Monero release with the fix.
	Release string `json:"release"`
	// Fix says in one line what the fix does and what this code does without it.
	Fix string `json:"fix"`
	// Uncertain means releases before and after the fix share this interface version.
	Uncertain bool `json:"uncertain,omitempty"`
}

// String is the report in one log line.
func (r MoneroVersionReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wallet-rpc interface %d.%d (%s), release build %v", r.Major, r.Minor, r.Releases, r.Release)
	for _, m := range r.Missing {
		maybe := "lacks"
		if m.Uncertain {
			maybe = "may lack"
		}
		fmt.Fprintf(&b, "; %s %s: %s", maybe, m.Release, m.Fix)
	}
	return b.String()
}

// interfaceVersions maps each WALLET_RPC_VERSION_MINOR (major 1) of the 0.18 series to the
// releases that shipped it, read from src/wallet/wallet_rpc_server_commands_defs.h at every
// tag v0.18.0.0 … v0.18.5.1 and, for v0.18.5.3 (no tag in the mirror), at its release
// commit f58545b8d "build: prepare v0.18.5.3" on release-v0.18; Debian's 0.18.5.3 answers
// 1.32 too. There is no CLI v0.18.5.2: that release was the GUI's alone, and the release
// branch went from v0.18.5.1 to v0.18.5.3. Master (2026-08) also says 1.32.
var interfaceVersions = []struct {
	minor       uint32
	first, last string
}{
	{25, "v0.18.0.0", "v0.18.1.1"},
	{26, "v0.18.1.2", "v0.18.3.1"},
	{27, "v0.18.3.2", "v0.18.3.4"},
	{28, "v0.18.4.0", "v0.18.4.0"},
	{29, "v0.18.4.1", "v0.18.4.6"},
	{30, "v0.18.5.0", "v0.18.5.0"},
	{31, "v0.18.5.1", "v0.18.5.1"},
	{32, "v0.18.5.3", "v0.18.5.3"},
}

// RequiredMoneroVersion is the release the tests run (Debian's 0.18.5.3, walletproc.MoneroVersion)
// and so the oldest the worker runs on: Refusal refuses every interface older than the one
// it shipped, 1.32 (no older release shares it).
const RequiredMoneroVersion = "v0.18.5.3"

// requiredInterface is RequiredMoneroVersion's interface minor (major 1) and the oldest release
// that shares it: the worker cannot tell the releases of one interface apart.
func requiredInterface() (minor uint32, oldest string) {
	for _, ir := range interfaceVersions {
		if CompareMoneroVersions(ir.first, RequiredMoneroVersion) <= 0 && CompareMoneroVersions(RequiredMoneroVersion, ir.last) <= 0 {
			return ir.minor, ir.first
		}
	}
	panic("activities: RequiredMoneroVersion " + RequiredMoneroVersion + " is in no interfaceVersions range")
}

// Refusal says why the worker must not run on this wallet-rpc: its interface is older than
// RequiredMoneroVersion's, so it is a Monero release the tests never ran and lacks fixes the
// money rules count on (its Missing list). nil when the instance may serve.
func (r MoneroVersionReport) Refusal() error {
	minor, oldest := requiredInterface()
	if r.Major > 1 || (r.Major == 1 && r.Minor >= minor) {
		return nil
	}
	need := "Monero " + RequiredMoneroVersion + " or later (the release the tests run)"
	if oldest != RequiredMoneroVersion {
		need = fmt.Sprintf("Monero %s or later (%s shares the interface of %s, the release the tests run, so the worker cannot tell them apart)",
			oldest, oldest, RequiredMoneroVersion)
	}
	return fmt.Errorf("wallet-rpc interface %d.%d (%s) is too old: the worker needs interface 1.%d or later, %s. "+
		"Install Debian's monero 0.18.5.3 (trixie-backports; `make tools` builds it into ~/.cache/xmr-escrow/monero-0.18.5.3/bin) "+
		"or the official %s release, and run its monero-wallet-rpc", r.Major, r.Minor, r.Releases, minor, need, RequiredMoneroVersion)
}

// multisigFixes are the upstream fixes after 0.18.0.0 that matter to a server holding
// multisig wallets (docs/design.md, "Later Monero releases"), each checked against the commit
// that made it.
var multisigFixes = []MissingFix{
	{Release: "v0.18.1.2", Fix: "no force_update_use_with_caution: a stuck key exchange cannot be forced forward"},
	{Release: "v0.18.3.0", Fix: "signs multisig txsets that spend frozen outputs, and wallet-rpc does not answer during a refresh"},
	{Release: "v0.18.3.2", Fix: "leaks multisig key material in memory (the multisig key memory leak)"},
	{Release: "v0.18.4.1", Fix: "keeps stale multisig data after a failed refresh (the -35 Haveno hit) and can ignore calls during sync"},
	{Release: "v0.18.5.0", Fix: "no refresh_after_import: every import_multisig_info refreshes the wallet"},
	{Release: "v0.18.5.1", Fix: "sign_multisig does not persist nonce erasure: only the store after signing keeps used nonces used across a crash"},
	{Release: "v0.18.5.3", Fix: "a refresh that fails after import_multisig_info can leave the multisig import state inconsistent"},
}

// CheckMoneroVersion asks a wallet-rpc for its version and reports the fixes it lacks; the worker
// logs it at start. get_version needs no open wallet.
func CheckMoneroVersion(ctx context.Context, rpc *walletrpc.Client) (MoneroVersionReport, error) {
	v, err := rpc.GetVersion(ctx)
	if err != nil {
		return MoneroVersionReport{}, fmt.Errorf("get_version of %s: %w", rpc.URL(), err)
	}
	return MoneroVersionOf(v), nil
}

// MoneroVersionOf maps a get_version result to the releases it can be and the fixes it lacks. A
// fix counts as present only when every release with this interface version has it.
func MoneroVersionOf(v walletrpc.GetVersionResult) MoneroVersionReport {
	r := MoneroVersionReport{Version: v.Version, Major: v.Major(), Minor: v.Minor(), Release: v.Release}
	newest := interfaceVersions[len(interfaceVersions)-1]
	var first, last string
	switch {
	case r.Major > 1 || (r.Major == 1 && r.Minor > newest.minor):
		r.Releases = "later than " + newest.last
		return r
	case r.Major < 1 || r.Minor < interfaceVersions[0].minor:
		r.Releases = "older than " + interfaceVersions[0].first
		first, last = "v0", "v0"
	default:
		for _, ir := range interfaceVersions {
			if ir.minor == r.Minor {
				first, last = ir.first, ir.last
			}
		}
		r.Releases = first
		if last != first {
			r.Releases += "–" + last
		}
	}
	for _, f := range multisigFixes {
		switch {
		case CompareMoneroVersions(first, f.Release) >= 0:
			// every release with this interface has the fix
		case CompareMoneroVersions(last, f.Release) < 0:
			r.Missing = append(r.Missing, f)
		default:
			f.Uncertain = true
			r.Missing = append(r.Missing, f)
		}
	}
	return r
}

// CompareMoneroVersions orders release tags such as "v0.18.3.2" numerically, field by field.
func CompareMoneroVersions(a, b string) int {
	as := strings.Split(strings.TrimPrefix(a, "v"), ".")
	bs := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
