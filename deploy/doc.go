// Package deploy holds the Docker deployment of the product: the images
// (worker.Dockerfile, wallet-rpc.Dockerfile), the Temporal server's dynamic config and the
// example secrets (env.example) used by ../docker-compose.temporal.yml. It has no Go code;
// its test validates the compose file and checks that it agrees with docs/operations.md and with
// the escrow package.
package deploy
