package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"github.com/xmr-escrow/xmr-escrow/codec"
	"github.com/xmr-escrow/xmr-escrow/escrow"
	"github.com/xmr-escrow/xmr-escrow/internal/searchattr"
	"github.com/xmr-escrow/xmr-escrow/keyring"
)

// ErrNamespaceNotReady is wrapped by the NamespaceError CheckNamespace returns: the namespace
// lacks something escrows need, and the error says what to run.
var ErrNamespaceNotReady = errors.New("temporal namespace not ready for escrows")

// The checks a NamespaceProblem comes from.
const (
	// CheckSearchAttributes: escrow.SearchAttributeTypes are missing or of another type.
	CheckSearchAttributes = "search attributes"
	// CheckRetention: the namespace forgets closed runs sooner than escrow.MinRetention.
	CheckRetention = "retention"
	// CheckPayloadKeys: the worker's keys cannot open what it or the namespace's escrows seal.
	CheckPayloadKeys = "payload keys"
)

// namespaceCheckTimeout bounds the whole check: a few small RPCs to a server Dial reached.
const namespaceCheckTimeout = 30 * time.Second

// probeValue is what the payload probe seals and opens again.
const probeValue = "xmr-escrow namespace probe"

// NamespaceCheck is what CheckNamespace needs besides the client.
type NamespaceCheck struct {
	// Namespace is the client's namespace; default "default", as temporalclient.Dial's.
	Namespace string
	// Keys are the worker's payload keys ($XMR_ESCROW_KEYS); required.
	Keys *keyring.Keyring
	// DataConverter seals the probe; default codec.DataConverter(Keys), which is what
	// temporalclient.Dial gives the client. Whatever it seals, Keys must open.
	DataConverter converter.DataConverter
	// WalletsOnly checks only the payload keys: a participant's worker runs no escrow
	// workflow (it writes no search attribute and its retention is the marketplace's
	// business) and may lack the operator and visibility rights the other checks need.
	WalletsOnly bool
	// Logger gets the "namespace checked" line; nil logs nothing.
	Logger *zap.Logger
}

// NamespaceProblem is one thing the namespace lacks, with what fixes it.
type NamespaceProblem struct {
	// Check is CheckSearchAttributes, CheckRetention or CheckPayloadKeys.
	Check string
	// Detail says what is wrong; Fix what to run or change.
	Detail, Fix string
	// Err is the underlying error, if any (the codec's, for CheckPayloadKeys).
	Err error
}

// NamespaceError lists every problem found, so one failed start tells all there is to fix.
type NamespaceError struct {
	// Namespace is the namespace checked.
	Namespace string
	// Problems holds at least one problem.
	Problems []NamespaceProblem
}

// Error names each problem and its fix, and temporal-bootstrap when it fixes some.
func (e *NamespaceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: namespace %q:", ErrNamespaceNotReady, e.Namespace)
	bootstrap := false
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  - %s: %s\n    fix: %s", p.Check, p.Detail, p.Fix)
		bootstrap = bootstrap || p.Check != CheckPayloadKeys
	}
	if bootstrap {
		b.WriteString("\n  (`temporal-bootstrap namespace`, with this worker's TEMPORAL_* settings, registers the search attributes and raises the retention at once)")
	}
	return b.String()
}

// Unwrap lets errors.Is find ErrNamespaceNotReady and each problem's own error.
func (e *NamespaceError) Unwrap() []error {
	errs := []error{ErrNamespaceNotReady}
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// Has reports whether a problem came from the given check.
func (e *NamespaceError) Has(check string) bool {
	return slices.ContainsFunc(e.Problems, func(p NamespaceProblem) bool { return p.Check == check })
}

// CheckNamespace refuses a namespace the worker would fail in later, and less clearly: the
// escrow search attributes missing (every phase change would fail its workflow task), a
// retention that deletes an escrow's first runs while it still runs, or payload keys that
// cannot open what this worker seals or what the namespace's escrows were started with. It
// returns a *NamespaceError (errors.Is ErrNamespaceNotReady) naming each fix; a failed RPC
// is returned wrapped as it is.
func CheckNamespace(ctx context.Context, c client.Client, o NamespaceCheck) error {
	if o.Keys == nil {
		return errors.New("check namespace: no payload keys")
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.DataConverter == nil {
		o.DataConverter = codec.DataConverter(o.Keys)
	}
	ctx, cancel := context.WithTimeout(ctx, namespaceCheckTimeout)
	defer cancel()
	var (
		problems  []NamespaceProblem
		retention time.Duration
		attrs     int
		err       error
	)
	if !o.WalletsOnly {
		var ps []NamespaceProblem
		if ps, attrs, err = checkSearchAttributes(ctx, c, o.Namespace); err != nil {
			return fmt.Errorf("check namespace %s: %w", o.Namespace, err)
		}
		problems = append(problems, ps...)
		if ps, retention, err = checkRetention(ctx, c, o.Namespace); err != nil {
			return fmt.Errorf("check namespace %s: %w", o.Namespace, err)
		}
		problems = append(problems, ps...)
	}
	ps, probed, err := checkPayloadKeys(ctx, c, o)
	if err != nil {
		return fmt.Errorf("check namespace %s: %w", o.Namespace, err)
	}
	if problems = append(problems, ps...); len(problems) > 0 {
		return &NamespaceError{Namespace: o.Namespace, Problems: problems}
	}
	if o.Logger != nil {
		o.Logger.Info("namespace checked", zap.String("namespace", o.Namespace), zap.Duration("retention", retention),
			zap.Int("search_attributes", attrs), zap.String("escrow_probed", probed), zap.Bool("wallets_only", o.WalletsOnly))
	}
	return nil
}

// checkSearchAttributes compares the namespace's custom attributes with
// escrow.SearchAttributeTypes; it returns how many of them are in place.
func checkSearchAttributes(ctx context.Context, c client.Client, ns string) ([]NamespaceProblem, int, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return nil, 0, fmt.Errorf("list search attributes: %w", err)
	}
	have := resp.GetCustomAttributes()
	var problems []NamespaceProblem
	var missing []string
	ok := 0
	for _, name := range slices.Sorted(maps.Keys(escrow.SearchAttributeTypes)) {
		want := escrow.SearchAttributeTypes[name]
		got, found := have[name]
		switch {
		case !found:
			missing = append(missing, name)
		case !searchattr.Same(got, want):
			// A search attribute's type cannot change: it has to go and come back.
			problems = append(problems, NamespaceProblem{
				Check:  CheckSearchAttributes,
				Detail: fmt.Sprintf("%s is a %s, escrows write a %s", name, got, want),
				Fix: fmt.Sprintf("temporal operator search-attribute remove --namespace %s --name %s --yes && "+
					"temporal operator search-attribute create --namespace %s --name %s --type %s (the values it holds are lost)",
					ns, name, ns, name, want),
			})
		default:
			ok++
		}
	}
	if len(missing) > 0 {
		// The CLI takes several --name but one --type: one command per type.
		byType := map[string][]string{}
		for _, name := range missing {
			typ := escrow.SearchAttributeTypes[name]
			byType[typ] = append(byType[typ], name)
		}
		var cmds []string
		for _, typ := range slices.Sorted(maps.Keys(byType)) {
			cmds = append(cmds, fmt.Sprintf("temporal operator search-attribute create --namespace %s --name %s --type %s",
				ns, strings.Join(byType[typ], " --name "), typ))
		}
		problems = append([]NamespaceProblem{{
			Check:  CheckSearchAttributes,
			Detail: "missing " + strings.Join(missing, ", "),
			Fix:    strings.Join(cmds, " && "),
		}}, problems...)
	}
	return problems, ok, nil
}

// checkRetention compares the namespace's retention with escrow.MinRetention.
func checkRetention(ctx context.Context, c client.Client, ns string) ([]NamespaceProblem, time.Duration, error) {
	resp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil {
		return nil, 0, fmt.Errorf("describe namespace: %w", err)
	}
	have := resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	if have >= escrow.MinRetention {
		return nil, have, nil
	}
	return []NamespaceProblem{{
		Check: CheckRetention,
		Detail: fmt.Sprintf("closed runs are kept %s, less than the %s an escrow can run with its late-money grace "+
			"(escrow.MinRetention): an escrow would lose its first runs, and its timeline, while it still runs", hours(have), hours(escrow.MinRetention)),
		Fix: fmt.Sprintf("temporal operator namespace update --namespace %s --retention %s", ns, hours(escrow.MinRetention)),
	}}, have, nil
}

// hours spells a retention as the CLI takes it, in whole hours rounded up.
func hours(d time.Duration) string {
	return fmt.Sprintf("%dh", (d+time.Hour-1)/time.Hour)
}
