package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
)

// The modes besides the setup matrix (-lifecycle, -sustained) each start a regtest chain of
// their own and add a section to -out's report, keeping the others.

// startBenchChain starts a mode's regtest chain under work and makes the payees; stop stops
// the chain.
func startBenchChain(ctx context.Context, mode, work string) (chain *devstack.Chain, pay payees, stop func(), err error) {
	logf("%s: starting a regtest chain (%d blocks)", mode, devstack.SpendableBlocks)
	chain, err = devstack.StartChain(ctx, filepath.Join(work, "chain"), devstack.SpendableBlocks)
	if err != nil {
		return nil, pay, nil, fmt.Errorf("start the regtest chain: %w", err)
	}
	stop = func() {
		if err := chain.Stop(); err != nil {
			logf("stop the chain: %v", err)
		}
	}
	if pay, err = newPayees(ctx, chain); err != nil {
		stop()
		return nil, pay, nil, err
	}
	return chain, pay, stop, nil
}

// lifecycle is run in -lifecycle mode: it measures whole escrows and adds their section to
// -out's report, keeping the setup results already there.
func lifecycle(ctx context.Context, o options, work string) error {
	m := machineInfo()
	logf("machine: %d cores (%s), %s, %s, %s", m.NProc, m.CPUModel, m.MemTotal, m.GoVersion, m.WalletRPC)
	logf("lifecycle: ours=%t script=%t, outcomes %v, repeat %d, key cache on and off; results into %s", o.ours, o.script, o.lifeKinds, o.repeat, o.out)
	if o.base {
		logf("lifecycle: the baseline is a setup only (it has no payout): not run")
	}
	rep, err := loadReport(o.out)
	if err != nil {
		return err
	}
	lr, err := runLifecycles(ctx, o, work)
	if lr != nil {
		for _, r := range lr.Results {
			r.finish()
		}
		lr.derive() // rep.write derives it again; print needs it first
		lr.print()
		rep.Lifecycle = lr
	}
	return writeSection(ctx, o, rep, lr != nil, err, "lifecycle done: "+filepath.Join(o.out, "latest.{json,md}"))
}

// writeSection writes rep to -out when a mode measured something (got), even partly, and
// then reports the mode's error (err) or logs done.
func writeSection(ctx context.Context, o options, rep *Report, got bool, err error, done string) error {
	if got {
		if werr := rep.write(o.out); werr != nil {
			return errors.Join(err, werr)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted; every process stopped, partial results left in " + o.out)
		}
		return err
	}
	logf("%s", done)
	return nil
}

// sustained is run in -sustained mode: it keeps escrows in flight and adds its section to
// -out's report, keeping the rest.
func sustained(ctx context.Context, o options, work string) error {
	m := machineInfo()
	logf("machine: %d cores (%s), %s, %s, %s", m.NProc, m.CPUModel, m.MemTotal, m.GoVersion, m.WalletRPC)
	logf("sustained: N=%v, window %s, a block every %s, key cache %t, pool %d growing to %d; results into %s", o.susNs, o.susWindow, o.susBlock, o.keycache, o.susK, o.growMax, o.out)
	rep, err := loadReport(o.out)
	if err != nil {
		return err
	}
	sr, err := runSustained(ctx, o, work)
	if sr != nil {
		sr.merge(rep.Sustained)
		rep.Sustained = sr
	}
	return writeSection(ctx, o, rep, sr != nil, err, "sustained done: "+filepath.Join(o.out, "latest.{json,md}, latest-sustained.png"))
}
