package app

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xmr-escrow/xmr-escrow/internal/rpcinstance"
	"github.com/xmr-escrow/xmr-escrow/keyring"
	"github.com/xmr-escrow/xmr-escrow/worker"
)

// fakePool serves "spawned-1" (up) and "spawned-2" (down).
type fakePool struct{}

func (fakePool) Serves(name string) bool  { return name == "spawned-1" || name == "spawned-2" }
func (fakePool) Healthy(name string) bool { return name == "spawned-1" }

func TestAnInstanceTheWorkerWasGivenIsAssumedUpAndASpawnedOneIsAskedAbout(t *testing.T) {
	h := healthy(fakePool{})
	require.True(t, h("given-1"), "an instance this process does not supervise is assumed up: its steps retry")
	require.True(t, h("spawned-1"))
	require.False(t, h("spawned-2"), "a spawned wallet-rpc that is down gets no new escrow")
}

// A second worker on wallet dirs another process holds is refused before it dials Temporal
// (nothing listens at the address given) and before it opens a metrics port, and holds
// nothing afterwards.
func TestASecondWorkerOnHeldWalletDirsIsRefusedBeforeItDials(t *testing.T) {
	dir := t.TempDir()
	holder := rpcinstance.NewOwnership(nil)
	require.NoError(t, holder.Acquire(dir))
	keys, _, err := keyring.Generate("test")
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	metricsAddr := ln.Addr().String()
	require.NoError(t, ln.Close())

	cfg := worker.Config{WalletsOnly: true, WalletSecret: make([]byte, 32),
		Instances: []worker.Instance{{Name: "rpc-1", URL: "http://127.0.0.1:1/json_rpc", WalletDir: dir}}}
	o := Options{Worker: cfg, Keys: keys, HoldWalletDirs: true, MetricsListen: metricsAddr}
	o.Temporal.HostPort, o.Temporal.IgnoreEnvironment = "127.0.0.1:1", true
	_, err = Build(context.Background(), o)
	var owned *rpcinstance.OwnedError
	require.True(t, errors.As(err, &owned), "want the holder named, got %v", err)

	// Refused before the metrics port was taken: it is still free.
	ln, err = net.Listen("tcp", metricsAddr)
	require.NoError(t, err, "the refused build must not have opened its metrics port")
	require.NoError(t, ln.Close())
	// Once the holder lets go, the dir is free: the refused build kept no lock of its own.
	holder.Release()
	again := rpcinstance.NewOwnership(nil)
	require.NoError(t, again.Acquire(dir))
	again.Release()
}

func TestBuildRefusesWithoutPayloadKeys(t *testing.T) {
	_, err := Build(context.Background(), Options{})
	require.ErrorContains(t, err, "Keys are required")
}
