package scan

import (
	"encoding/json"
	"errors"
	"fmt"
)

// RingCT signature types (rct::RCTType* in src/ringct/rctTypes.h).
const (
	RCTTypeNull            = 0 // coinbase: amounts in the clear
	RCTTypeBulletproof2    = 4 // first type with the compact 8-byte ECDH amount
	RCTTypeCLSAG           = 5
	RCTTypeBulletproofPlus = 6 // current since v0.18 (hard fork 15)
)

// ErrMalformedTx is wrapped by every error about a transaction's JSON.
var ErrMalformedTx = errors.New("scan: malformed transaction")

// Errors about a hex field of the JSON.
var (
	errHexLength = errors.New("hex string of the wrong length")
	errHexDigit  = errors.New("invalid hex digit")
	errNotArray  = errors.New("extra is not a JSON array")
)

// TxError is a transaction that cannot be parsed or scanned; it wraps
// ErrMalformedTx and the cause.
type TxError struct {
	TxHash string // as the caller gave it, cut to 64 characters
	Reason string // which part is wrong
	Err    error  // the underlying error, if any
}

// Error names the transaction and the reason.
func (e *TxError) Error() string {
	s := fmt.Sprintf("%v: tx %q: %s", ErrMalformedTx, e.TxHash, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes ErrMalformedTx and the cause to errors.Is and errors.As.
func (e *TxError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrMalformedTx}
	}
	return []error{ErrMalformedTx, e.Err}
}

// txError builds a TxError; hash is cut because it may come from anywhere.
func txError(hash, reason string, err error) error {
	if len(hash) > 64 {
		hash = hash[:64]
	}
	return &TxError{TxHash: hash, Reason: reason, Err: err}
}

// Output is one transaction output.
type Output struct {
	// Key is the one-time output public key.
	Key [32]byte
	// ViewTag is the output's view tag; valid when HasViewTag (v0.18+ outputs).
	ViewTag    byte
	HasViewTag bool
	// Amount is the clear amount of a coinbase or pre-RingCT output; RingCT
	// outputs carry 0 here and their amount in the ECDH info.
	Amount uint64
}

// Tx is a transaction reduced to what recognising outputs needs.
type Tx struct {
	// Hash is the transaction hash as monerod reports it (hex); the scanner
	// copies it into matches and does not check it.
	Hash       string
	Version    uint64
	UnlockTime uint64
	// Coinbase is true for a miner transaction (its input is "gen").
	Coinbase bool
	Outputs  []Output
	// Extra is the parsed extra field; Extra.Err says if parsing stopped early.
	Extra Extra
	// RCTType is rct_signatures.type (0 for version 1 transactions).
	RCTType uint8
	// ECDHAmounts are the truncated encrypted amounts, one per output, for
	// RCT types 4–6; nil for other types.
	ECDHAmounts [][8]byte
	// Commitments are outPk, the amount commitments, one per output, for RCT
	// types 4–6; nil for other types.
	Commitments [][32]byte
}

// Unsupported reports whether tx is of a kind this scanner cannot recognise outputs in: a
// RingCT type newer than Bulletproofs+ (what the FCMP++ and Carrot hard fork brings). Its
// outputs are never matched, so whoever reads it must not take silence for "not paid".
func (tx *Tx) Unsupported() bool {
	return tx.Version == 2 && !tx.Coinbase && tx.RCTType > RCTTypeBulletproofPlus
}

// txJSON is the shape of monerod's decode_as_json output ("as_json" of
// /get_transactions, "miner_tx" in get_block's "json"), reduced to the fields
// used. Pointers tell a missing field from a zero.
type txJSON struct {
	Version    *uint64   `json:"version"`
	UnlockTime *uint64   `json:"unlock_time"`
	Vin        []vinJSON `json:"vin"`
	Vout       []struct {
		Amount *uint64 `json:"amount"`
		Target struct {
			// Before v0.18: {"key": "<hex>"}.
			Key *hexKey `json:"key"`
			// Since v0.18: {"tagged_key": {"key": "<hex>", "view_tag": "<2 hex>"}}.
			TaggedKey *struct {
				Key     *hexKey `json:"key"`
				ViewTag *hex1   `json:"view_tag"`
			} `json:"tagged_key"`
		} `json:"target"`
	} `json:"vout"`
	Extra byteArray `json:"extra"`
	RCT   *struct {
		Type     *uint8 `json:"type"`
		ECDHInfo []struct {
			// 16 hex digits for types 4–6 (only the first 8 bytes are
			// serialised); 64 for older types, which also have "mask".
			Amount string `json:"amount"`
		} `json:"ecdhInfo"`
		OutPk []hexKey `json:"outPk"`
	} `json:"rct_signatures"`
}

// vinJSON is one input; only a coinbase's "gen" matters here.
type vinJSON struct {
	Gen *struct {
		Height uint64 `json:"height"`
	} `json:"gen"`
}

// byteArray is monerod's "extra": a JSON array of numbers 0–255.
type byteArray []byte

// UnmarshalJSON accepts only an array (or null): a plain []byte field would
// also take base64 text, which monerod never writes.
func (b *byteArray) UnmarshalJSON(d []byte) error {
	if string(d) == "null" {
		return nil
	}
	if len(d) == 0 || d[0] != '[' {
		return errNotArray
	}
	// Decoding an array into []uint8 range-checks every element.
	return json.Unmarshal(d, (*[]uint8)(b))
}

// ParseTx decodes one transaction from monerod's JSON (the "as_json" string
// of /get_transactions with decode_as_json, as bytes). Every error wraps
// ErrMalformedTx; nothing in the input makes it panic.
func ParseTx(hash string, asJSON []byte) (*Tx, error) {
	var j txJSON
	if err := json.Unmarshal(asJSON, &j); err != nil {
		return nil, txError(hash, "decode JSON", err)
	}
	return j.tx(hash)
}

// ParseMinerTx decodes the miner transaction from the "json" field of
// monerod's get_block result; minerTxHash is get_block's "miner_tx_hash".
func ParseMinerTx(minerTxHash string, blockJSON []byte) (*Tx, error) {
	var b struct {
		MinerTx *txJSON `json:"miner_tx"`
	}
	if err := json.Unmarshal(blockJSON, &b); err != nil {
		return nil, txError(minerTxHash, "decode block JSON", err)
	}
	if b.MinerTx == nil {
		return nil, txError(minerTxHash, "block has no miner_tx", nil)
	}
	tx, err := b.MinerTx.tx(minerTxHash)
	if err != nil {
		return nil, err
	}
	if !tx.Coinbase {
		return nil, txError(minerTxHash, "miner_tx has no gen input", nil)
	}
	return tx, nil
}

// tx checks the decoded JSON and builds the Tx.
func (j *txJSON) tx(hash string) (*Tx, error) {
	if j.Version == nil || j.UnlockTime == nil {
		return nil, txError(hash, "missing version or unlock_time", nil)
	}
	tx := &Tx{Hash: hash, Version: *j.Version, UnlockTime: *j.UnlockTime}
	if tx.Version != 1 && tx.Version != 2 {
		return nil, txError(hash, fmt.Sprintf("unsupported version %d", tx.Version), nil)
	}
	tx.Coinbase = len(j.Vin) == 1 && j.Vin[0].Gen != nil
	tx.Outputs = make([]Output, len(j.Vout))
	for i, o := range j.Vout {
		out := &tx.Outputs[i]
		if o.Amount != nil {
			out.Amount = *o.Amount
		}
		switch t := o.Target; {
		case t.Key != nil && t.TaggedKey == nil:
			out.Key = *t.Key
		case t.Key == nil && t.TaggedKey != nil && t.TaggedKey.Key != nil && t.TaggedKey.ViewTag != nil:
			out.Key = *t.TaggedKey.Key
			out.ViewTag, out.HasViewTag = t.TaggedKey.ViewTag[0], true
		default:
			return nil, txError(hash, fmt.Sprintf("output %d: target is neither key nor tagged_key", i), nil)
		}
	}
	tx.Extra = ParseExtra(j.Extra)
	if err := j.ringCT(tx); err != nil {
		return nil, err
	}
	return tx, nil
}

// ringCT fills the RingCT fields and checks their counts against the outputs.
func (j *txJSON) ringCT(tx *Tx) error {
	if tx.Version == 1 {
		if j.RCT != nil && j.RCT.Type != nil && *j.RCT.Type != RCTTypeNull {
			return txError(tx.Hash, "version 1 with RingCT signatures", nil)
		}
		return nil
	}
	if j.RCT == nil || j.RCT.Type == nil {
		return txError(tx.Hash, "version 2 without rct_signatures.type", nil)
	}
	tx.RCTType = *j.RCT.Type
	if !compactECDH(tx.RCTType) {
		// Coinbase (0) has nothing more; older and unknown types are kept
		// and reported as unsupported only if an output turns out to be ours.
		return nil
	}
	n := len(tx.Outputs)
	if len(j.RCT.ECDHInfo) != n || len(j.RCT.OutPk) != n {
		return txError(tx.Hash, fmt.Sprintf("%d outputs but %d ecdhInfo and %d outPk",
			n, len(j.RCT.ECDHInfo), len(j.RCT.OutPk)), nil)
	}
	tx.ECDHAmounts = make([][8]byte, n)
	tx.Commitments = make([][32]byte, n)
	for i, e := range j.RCT.ECDHInfo {
		if err := decodeHex(tx.ECDHAmounts[i][:], []byte(e.Amount)); err != nil {
			return txError(tx.Hash, fmt.Sprintf("ecdhInfo %d amount", i), err)
		}
		tx.Commitments[i] = j.RCT.OutPk[i]
	}
	return nil
}

// compactECDH reports whether an RCT type encodes amounts as 8 bytes XOR
// keccak("amount" || Hs) (ecdhEncode's v2, Bulletproof2 and later).
func compactECDH(t uint8) bool {
	return t == RCTTypeBulletproof2 || t == RCTTypeCLSAG || t == RCTTypeBulletproofPlus
}

// validate checks the invariants ScanTx relies on, for a Tx built by hand
// rather than by ParseTx.
func (tx *Tx) validate() error {
	if tx == nil {
		return txError("", "nil transaction", nil)
	}
	if compactECDH(tx.RCTType) && (len(tx.ECDHAmounts) != len(tx.Outputs) || len(tx.Commitments) != len(tx.Outputs)) {
		return txError(tx.Hash, "ECDH amounts or commitments do not match the outputs", nil)
	}
	return nil
}
