// Package deploy holds the Docker deployment of the product: the images (worker.Dockerfile:
// its monero stage, Debian's pinned Monero for monerod, and the worker on top of it, which
// spawns its own wallet-rpcs), the Temporal cluster's configuration and scripts (temporal/,
// embedded as TemporalFiles so the tests run the same bytes) and the example secrets
// (env.example) used by ../docker-compose.temporal.yml. Its tests validate the compose file
// and check that it agrees with docs/operations.md, with the escrow package, with the
// Monero the tests run (scripts/tools.sh) and with the cluster the tests run (devstack).
package deploy
