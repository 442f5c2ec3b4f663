# xmr-escrow: `make run` runs one escrow on the local stack, `make test` runs every test.
# Both install what they need first (scripts/tools.sh).

TOOLS_BIN ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/xmr-escrow/bin
export XMR_ESCROW_TEMPORAL ?= $(TOOLS_BIN)/temporal
# The integration package ran 31 min as one process (timer-bound, not CPU-bound: 33 CPU-min in
# 44 wall-min on 2 cores); 60m leaves room for a slower machine. The goal stays under 30 min for
# the whole of make test: 22m50s on a clean clone at e8018b8, the two processes below 16 and 20 min.
GO_TEST_FLAGS ?= -race -count=1 -timeout 60m
# So make test runs the integration package as two processes at once: the tests that need no
# regtest chain (setups, worker processes and hosts, crashes, secrets, metrics: NO_CHAIN) and
# everything else. The first takes them with -run, the second skips them with -skip, so each
# test runs in exactly one; a test missing from this list only lands in the second.
# walletproc.FreePort keeps the two processes' ports apart; internal/archtest checks the list.
NO_CHAIN := ^(TestOneEscrowEndsReadyWithTheSameAddressInAllThreeWallets|TestThreeEscrowsStartedAtOnceAllEndReady|TestStartingOneEscrowTwiceAtOnceMakesOneRun|TestUnknownAndInvalidEscrowIDsGetClearErrors|TestCancelBeforeFundingEndsTheEscrow|TestNoSecretRestsInPlaintext|TestCodecServerDecodesAPayloadFromHistory|TestMarketplaceReadsTheProjection|TestARogueWorkflowCallingSignPayoutOnAnEscrowsInstanceIsRefused|TestWalletRPCKilledMidSetupIsRestartedAndTheEscrowCompletes|TestARollingDeployHandsTheInstancesToTheNewVersion|TestASecondStartWithDifferentTermsIsRefused|TestSetupsWaitingThroughPurgeTimersGrowThePool|TestARestartedWorkerDoesNotLeaseASetupsInstancesToAnother|TestWorkerMetricsCoverTheSetup|TestTwoHostsSetUpNineEscrowsAtOnceEachOnItsOwnWallets|TestAHostKilledMidSetupLosesNoEscrowAndDisturbsNoOther|TestASecondWorkerOnTheSameWalletRPCIsRefused|TestTimelineOfARealSetup|TestWorkerKilledAtEveryPointOfASetup)$$
# The benchmark's own module (replace directive onto this one); ./... here does not include it.
BENCH_MOD := cmd/bench

.PHONY: all tools run-tools build run test test-unit lint fuzz clean bench

all: build

## tools: everything the tests need (monero, Temporal CLI, chromium, docker-compose,
## workflowcheck, PostgreSQL); run-tools: what `make run` needs.
tools:
	@scripts/tools.sh
	@scripts/postgres.sh

run-tools:
	@scripts/tools.sh run
	@scripts/postgres.sh

build:
	go build -o bin/ ./cmd/...

## run: regtest monerod, Temporal dev server (Web UI http://127.0.0.1:8233), codec server,
## PostgreSQL projection, 3 supervised wallet-rpc, worker; one escrow from order to release.
## On exit (Ctrl-C) it also stops a private PostgreSQL cluster under .data/postgres, if any.
run: run-tools
	@trap 'scripts/postgres.sh stop' EXIT; go run ./cmd/devrun $(RUN_ARGS)

## test: lint, then unit and integration tests against the real Temporal dev server and wallet-rpc.
test: tools lint
	@echo "go test: integration runs as two processes, NO_CHAIN beside the rest"; \
	go test $(GO_TEST_FLAGS) -run '$(NO_CHAIN)' ./integration & nochain=$$!; \
	go test $(GO_TEST_FLAGS) -skip '$(NO_CHAIN)' ./...; rest=$$?; \
	wait $$nochain; nochain=$$?; \
	go test $(GO_TEST_FLAGS) -tags crashpoints ./internal/crashpoint; crash=$$?; \
	test $$rest -eq 0 && test $$nochain -eq 0 && test $$crash -eq 0

## test-unit: unit-only mode (-short): no Temporal server, wallet-rpc or PostgreSQL; nothing to install.
test-unit:
	go test -short -race -count=1 ./...

## bench: N concurrent setups (1,3,12) over K=3 wallet-rpcs, purge delay 0s and 10s: the product
## (its ready escrows go on to the funding wait, daemon up and down; its pool may grow to 30)
## against the direct script and the predecessor's design; writes bench/results/latest.*.
## Quick run: make bench BENCH_ARGS="-n 1,3 -k 3 -delays 0s -systems ours,script"
## cmd/bench is a Go module of its own (its plotting dependencies stay out of the product's
## go.mod; `make build` leaves it out): built there, run from here, so a relative -out in
## BENCH_ARGS is relative to the repository's root.
bench: tools
	go -C $(BENCH_MOD) run -exec "env -C '$(CURDIR)'" . $(BENCH_ARGS)

## errcheck: production code only (tests may drop cleanup errors); .errcheck-excludes lists
## the reviewed calls whose errors leave nothing to act on.
ERRCHECK_FLAGS = -ignoretests -exclude $(CURDIR)/.errcheck-excludes

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	go mod tidy -diff
	go vet ./...
	go vet -tags crashpoints ./internal/crashpoint
	$(TOOLS_BIN)/workflowcheck ./...
	$(TOOLS_BIN)/staticcheck ./...
	$(TOOLS_BIN)/errcheck $(ERRCHECK_FLAGS) ./...
	cd $(BENCH_MOD) && go mod tidy -diff
	cd $(BENCH_MOD) && go vet ./...
	cd $(BENCH_MOD) && $(TOOLS_BIN)/staticcheck ./...
	cd $(BENCH_MOD) && $(TOOLS_BIN)/errcheck $(ERRCHECK_FLAGS) ./...

fuzz:
	go test -run XXX -fuzz FuzzDecodeResponse -fuzztime 30s ./walletrpc

clean:
	rm -rf bin .data
