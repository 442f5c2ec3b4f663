// Package walletproc launches and stops monero-wallet-rpc, and the child
// processes and ports that takes. It exists so that the production worker's
// supervisor and the dev/test harness (devstack) start wallet-rpc with one
// and the same code and command line, without production code importing the
// harness. Every child runs in its own process group with Pdeathsig, so
// stopping it reaches whatever it spawned and nothing is orphaned even if we
// crash; ports come from a band outside the kernel's ephemeral range, each
// claimed with a per-port lock that all processes using FreePort respect.
package walletproc
