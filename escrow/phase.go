package escrow

// Phase is where an escrow's multisig setup stands.
type Phase string

// The setup phases: NotStarted → Preparing → Exchanging{round} → Ready{address} | Failed{reason}.
const (
	PhaseNotStarted Phase = "NotStarted"
	PhasePreparing  Phase = "Preparing"
	PhaseExchanging Phase = "Exchanging"
	PhaseReady      Phase = "Ready"
	PhaseFailed     Phase = "Failed"
)

// Rounds is the number of key-exchange rounds of a 2-of-3 setup: make_multisig, then two
// exchange_multisig_keys.
const Rounds = 3

// State is what the status query returns: the phase plus its payload.
type State struct {
	EscrowID string `json:"escrow_id"`
	// Status is the marketplace's coarse view, derived from Phase.
	Status Status `json:"status"`
	Phase  Phase  `json:"phase"`
	// Round is 1..3 while Exchanging, the last round reached otherwise.
	Round int `json:"round"`
	// Address is set once Ready.
	Address string `json:"address,omitempty"`
	// Reason is set once Failed.
	Reason string `json:"reason,omitempty"`
	// Assignment says which wallet-rpc instance serves each role.
	Assignment Assignment `json:"assignment,omitempty"`
}

// Assignment maps each role to the name of the wallet-rpc instance (and so the task queue)
// that holds its wallet. It is decided once per escrow and recorded in history.
type Assignment struct {
	Buyer   string `json:"buyer"`
	Vendor  string `json:"vendor"`
	Arbiter string `json:"arbiter"`
}

// For returns the instance assigned to role r.
func (a Assignment) For(r Role) string {
	switch r {
	case Buyer:
		return a.Buyer
	case Vendor:
		return a.Vendor
	case Arbiter:
		return a.Arbiter
	}
	return ""
}

// Complete reports whether every role has an instance.
func (a Assignment) Complete() bool {
	return a.Buyer != "" && a.Vendor != "" && a.Arbiter != ""
}
