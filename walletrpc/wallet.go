package walletrpc

import (
	"context"
	"fmt"
)

// Method names as wallet-rpc spells them; exported so callers using Call stay in sync.
const (
	methodGetVersion           = "get_version"            // methodGetVersion needs no open wallet.
	MethodCreateWallet         = "create_wallet"          // MethodCreateWallet also opens the new wallet.
	MethodOpenWallet           = "open_wallet"            // MethodOpenWallet replaces any open wallet.
	MethodCloseWallet          = "close_wallet"           // MethodCloseWallet releases the .keys lock.
	MethodStore                = "store"                  // MethodStore persists the open wallet.
	MethodGetAddress           = "get_address"            // MethodGetAddress reads the account address.
	MethodIsMultisig           = "is_multisig"            // MethodIsMultisig reads the multisig state.
	MethodPrepareMultisig      = "prepare_multisig"       // MethodPrepareMultisig yields the round-1 message.
	MethodMakeMultisig         = "make_multisig"          // MethodMakeMultisig runs kex round 1.
	MethodExchangeMultisigKeys = "exchange_multisig_keys" // MethodExchangeMultisigKeys runs later rounds.
)

// defaultLanguage is what CreateWallet sends when Language is empty, so callers need not
// care about seed languages.
const defaultLanguage = "English"

const redacted = "[redacted]"

// GetVersionResult is the RPC interface version; Version packs major<<16 | minor.
type GetVersionResult struct {
	Version uint32 `json:"version"`
	Release bool   `json:"release"`
}

// Major returns the RPC interface major version.
func (r GetVersionResult) Major() uint32 { return r.Version >> 16 }

// Minor returns the RPC interface minor version.
func (r GetVersionResult) Minor() uint32 { return r.Version & 0xffff }

// CreateWalletRequest names a new wallet inside --wallet-dir and the password that encrypts it.
type CreateWalletRequest struct {
	Filename string `json:"filename"`
	Password string `json:"password"`
	Language string `json:"language"` // empty means English
}

// String hides the password so a stray %v cannot leak it.
func (r CreateWalletRequest) String() string {
	return fmt.Sprintf("{Filename:%s Password:%s Language:%s}", r.Filename, redacted, r.Language)
}

// OpenWalletRequest names an existing wallet inside --wallet-dir.
type OpenWalletRequest struct {
	Filename string `json:"filename"`
	Password string `json:"password"`
}

// String hides the password so a stray %v cannot leak it.
func (r OpenWalletRequest) String() string {
	return fmt.Sprintf("{Filename:%s Password:%s}", r.Filename, redacted)
}

// GetAddressRequest selects an account and optionally some of its subaddresses.
type GetAddressRequest struct {
	AccountIndex uint32   `json:"account_index"`
	AddressIndex []uint32 `json:"address_index,omitempty"`
}

// SubaddressInfo is one entry of GetAddressResult.Addresses.
type SubaddressInfo struct {
	Address      string `json:"address"`
	AddressIndex uint32 `json:"address_index"`
	Label        string `json:"label"`
	Used         bool   `json:"used"`
}

// GetAddressResult holds the account's primary address and its requested subaddresses.
type GetAddressResult struct {
	Address   string           `json:"address"`
	Addresses []SubaddressInfo `json:"addresses"`
}

// IsMultisigResult is the wallet's multisig state; Ready is true only after the last round.
type IsMultisigResult struct {
	Multisig  bool   `json:"multisig"`
	Ready     bool   `json:"ready"`
	Threshold uint32 `json:"threshold"`
	Total     uint32 `json:"total"`
}

// PrepareMultisigRequest carries the flag v0.18 needs before make_multisig (docs/design.md,
// "v0.18: multisig is experimental").
type PrepareMultisigRequest struct {
	// EnableMultisigExperimental sets the wallet's in-memory multisig flag, which
	// make_multisig then persists; without it later rounds fail with CodeDisabled.
	EnableMultisigExperimental bool `json:"enable_multisig_experimental,omitempty"`
}

// PrepareMultisigResult is this wallet's round-1 message; it contains private view-key material.
type PrepareMultisigResult struct {
	MultisigInfo string `json:"multisig_info"`
}

// String hides the multisig message, which is secret.
func (r PrepareMultisigResult) String() string {
	return fmt.Sprintf("{MultisigInfo:%s}", redactedLen(r.MultisigInfo))
}

// MakeMultisigRequest is round 1: the other participants' prepare messages and the threshold.
type MakeMultisigRequest struct {
	MultisigInfo []string `json:"multisig_info"`
	Threshold    uint32   `json:"threshold"`
	// Password must be the wallet's own, always: wallet-rpc re-encrypts .keys with it
	// unchecked, and an omitted one means "", after which the wallet cannot be reopened.
	Password string `json:"password,omitempty"`
}

// String hides the messages and password, which are secret.
func (r MakeMultisigRequest) String() string {
	return fmt.Sprintf("{MultisigInfo:%d messages %s Threshold:%d Password:%s}",
		len(r.MultisigInfo), redacted, r.Threshold, redactedLen(r.Password))
}

// MakeMultisigResult is the round-1 outcome: the next message to send to the others;
// Address is only a placeholder until the last round.
type MakeMultisigResult struct {
	Address      string `json:"address"`
	MultisigInfo string `json:"multisig_info"`
}

// String hides the multisig message, which is secret.
func (r MakeMultisigResult) String() string {
	return fmt.Sprintf("{Address:%s MultisigInfo:%s}", r.Address, redactedLen(r.MultisigInfo))
}

// ExchangeMultisigKeysRequest is a later kex round: the other participants' previous messages.
type ExchangeMultisigKeysRequest struct {
	MultisigInfo []string `json:"multisig_info"`
	// Password must be the wallet's own, always: wallet-rpc re-encrypts .keys with it
	// unchecked, and an omitted one means "", after which the wallet cannot be reopened.
	Password string `json:"password,omitempty"`
}

// String hides the messages and password, which are secret.
func (r ExchangeMultisigKeysRequest) String() string {
	return fmt.Sprintf("{MultisigInfo:%d messages %s Password:%s}",
		len(r.MultisigInfo), redacted, redactedLen(r.Password))
}

// ExchangeMultisigKeysResult is a kex round's outcome; Address is empty before the last
// round, and only IsMultisig's Ready says the setup is complete.
type ExchangeMultisigKeysResult struct {
	Address      string `json:"address"`
	MultisigInfo string `json:"multisig_info"`
}

// String hides the multisig message, which is secret.
func (r ExchangeMultisigKeysResult) String() string {
	return fmt.Sprintf("{Address:%s MultisigInfo:%s}", r.Address, redactedLen(r.MultisigInfo))
}

func redactedLen(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}

// GetVersion doubles as the readiness probe: it needs no open wallet.
func (c *Client) GetVersion(ctx context.Context) (GetVersionResult, error) {
	return call[GetVersionResult](ctx, c, methodGetVersion, nil)
}

// CreateWallet creates and opens a new wallet, closing any wallet open before.
func (c *Client) CreateWallet(ctx context.Context, req CreateWalletRequest) error {
	if req.Language == "" {
		req.Language = defaultLanguage
	}
	return c.Call(ctx, MethodCreateWallet, req, nil)
}

// OpenWallet opens an existing wallet; in v0.18 a wrong password and a missing file both
// give CodeUnknown "Failed to open wallet".
func (c *Client) OpenWallet(ctx context.Context, req OpenWalletRequest) error {
	return c.Call(ctx, MethodOpenWallet, req, nil)
}

// CloseWallet saves and closes the open wallet so its files can be copied or reopened elsewhere.
func (c *Client) CloseWallet(ctx context.Context) error {
	return c.Call(ctx, MethodCloseWallet, map[string]bool{"autosave_current": true}, nil)
}

// Store writes the open wallet to disk; state not stored is lost if wallet-rpc dies.
func (c *Client) Store(ctx context.Context) error {
	return c.Call(ctx, MethodStore, nil, nil)
}

// GetAddress returns the account's address (the shared address once multisig is ready).
func (c *Client) GetAddress(ctx context.Context, req GetAddressRequest) (GetAddressResult, error) {
	return call[GetAddressResult](ctx, c, MethodGetAddress, req)
}

// IsMultisig reports how far the multisig setup of the open wallet has got.
func (c *Client) IsMultisig(ctx context.Context) (IsMultisigResult, error) {
	return call[IsMultisigResult](ctx, c, MethodIsMultisig, nil)
}

// PrepareMultisig returns the round-1 message; set EnableMultisigExperimental in the same
// open-wallet session as the following MakeMultisig.
func (c *Client) PrepareMultisig(ctx context.Context, req PrepareMultisigRequest) (PrepareMultisigResult, error) {
	return call[PrepareMultisigResult](ctx, c, MethodPrepareMultisig, req)
}

// MakeMultisig runs round 1; it is not idempotent, so snapshot the wallet before calling,
// and always pass the wallet's own password (see MakeMultisigRequest.Password).
func (c *Client) MakeMultisig(ctx context.Context, req MakeMultisigRequest) (MakeMultisigResult, error) {
	return call[MakeMultisigResult](ctx, c, MethodMakeMultisig, req)
}

// ExchangeMultisigKeys runs one later kex round; it is not idempotent either.
func (c *Client) ExchangeMultisigKeys(ctx context.Context, req ExchangeMultisigKeysRequest) (ExchangeMultisigKeysResult, error) {
	return call[ExchangeMultisigKeysResult](ctx, c, MethodExchangeMultisigKeys, req)
}

// caller is what the typed methods need: Client and Daemon both satisfy it.
type caller interface {
	Call(ctx context.Context, method string, params, result any) error
}

// call is the shape of every typed method: one call, one typed result.
func call[Res any](ctx context.Context, c caller, method string, params any) (Res, error) {
	var res Res
	err := c.Call(ctx, method, params, &res)
	return res, err
}
