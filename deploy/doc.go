// Package deploy holds the Docker deployment of the product: the images (worker.Dockerfile:
// its monero stage, Debian's pinned Monero for monerod, and the worker on top of it, which
// spawns its own wallet-rpcs), the Temporal server's dynamic config and the example secrets
// (env.example) used by ../docker-compose.temporal.yml. It has no Go code; its test validates
// the compose file and checks that it agrees with docs/operations.md, with the escrow package
// and with the Monero the tests run (scripts/tools.sh).
package deploy
