// Package metrics exposes the worker's Prometheus endpoint: the Temporal SDK's own metrics
// (through OpenTelemetry) and the product's — wallet-rpc call latency and errors by method
// and instance, open_wallet and create_wallet counts, the time a step waited for its
// wallet-rpc, setup and round durations, and escrows by status.
package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// Metrics is one process's registry and the product's collectors.
type Metrics struct {
	Registry *prometheus.Registry
	// SDK is the handler to pass as client.Options.MetricsHandler.
	SDK client.MetricsHandler

	rpcLatency *prometheus.HistogramVec
	rpcErrors  *prometheus.CounterVec
	opens      *prometheus.CounterVec
	creates    *prometheus.CounterVec
	stepWait   *prometheus.HistogramVec
	escrows    *prometheus.GaugeVec
	mismatches *readCounters
	yields     *readCounters
	sharing    prometheus.Gauge
	waiting    prometheus.Gauge
	instances  *prometheus.GaugeVec
	pool       *prometheus.GaugeVec
	watcher    *prometheus.GaugeVec
}

// New builds a registry with the Go and process collectors, the SDK's metrics and the
// product's.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	m := &Metrics{
		Registry: reg,
		SDK: temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter:   provider.Meter("temporal-sdk-go"),
			OnError: func(error) {}, // a metric must never take the worker down
		}),
		rpcLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "xmr_escrow_wallet_rpc_call_seconds", Help: "wallet-rpc call latency by instance and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 4, 8, 16, 32},
		}, []string{"instance", "method"}),
		rpcErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmr_escrow_wallet_rpc_errors_total", Help: "wallet-rpc calls that failed, by instance, method and error code (transport, protocol or the RPC code).",
		}, []string{"instance", "method", "code"}),
		opens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmr_escrow_wallet_opens_total", Help: "open_wallet calls (1-3.5 CPU-s each) by instance.",
		}, []string{"instance"}),
		creates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmr_escrow_wallet_creates_total", Help: "create_wallet calls by instance.",
		}, []string{"instance"}),
		stepWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "xmr_escrow_step_wait_seconds", Help: "time a step waited for its wallet-rpc (schedule-to-start on the instance's task queue): the lock wait the predecessor could not see.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 120},
		}, []string{"instance", "step"}),
		escrows: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "xmr_escrow_escrows", Help: "running escrows by status (from Temporal visibility).",
		}, []string{"status"}),
		mismatches: newReadCounters(MetricWalletMismatches,
			"steps that found another wallet (or none, or an unlabelled one) open on the instance than the worker believed, and reopened the right one; anything above zero means something besides this worker drives the wallet-rpc, or it restarted.",
			"instance"),
		yields: newReadCounters(MetricStepsYielded,
			"steps of finished escrows (funding checks, payout steps) that stood back because their wallet-rpc was busy with another escrow's setup, instead of closing that setup's open wallet.",
			"instance"),
	}
	m.instances = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricWalletInstances, Help: "wallet-rpc instances deployment-wide, from the hosts' heartbeats: live ones taking setups (the pool size), and of those, leased to a setup and wanted by a waiting payout step.",
	}, []string{"state"})
	m.pool = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricWalletRPCPool, Help: "this host's supervised wallet-rpc pool against its budget: instances, max_instances, memory_bytes (resident), memory_budget_bytes (0: none).",
	}, []string{"measure"})
	m.watcher = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricBlockWatcher, Help: "this process's block-watcher replica: leading (1 while it holds the namespace's lock), height (last block it scanned), watched (escrows awaiting payment it scans for), payments_seen (reported since it started), unread_txs and unread_outputs (what it could not read since it started, e.g. a later fork's format: each woke the escrows' wallet checks).",
	}, []string{"measure"})
	m.sharing = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: MetricEscrowsSharingAHost,
		Help: "running escrows with two or more key shares on one host (from the wallet backups and the hosts' heartbeats): losing that host leaves them one share, so they need a restore before a payout.",
	})
	m.waiting = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "xmr_escrow_setups_waiting_for_capacity", Help: "setups refused for want of idle wallet-rpc instances, deployment-wide.",
	})
	reg.MustRegister(m.rpcLatency, m.rpcErrors, m.opens, m.creates, m.stepWait, m.escrows, m.mismatches, m.yields, m.sharing, m.waiting, m.instances, m.pool, m.watcher)
	return m, nil
}

// ObserveRPC returns a walletrpc.Config.Observe hook for one instance.
func (m *Metrics) ObserveRPC(instance string) func(method string, d time.Duration, err error) {
	return func(method string, d time.Duration, err error) {
		m.rpcLatency.WithLabelValues(instance, method).Observe(d.Seconds())
		if method == walletrpc.MethodOpenWallet {
			m.opens.WithLabelValues(instance).Inc()
		}
		if method == walletrpc.MethodCreateWallet {
			m.creates.WithLabelValues(instance).Inc()
		}
		if err != nil {
			m.rpcErrors.WithLabelValues(instance, method, errorCode(err)).Inc()
		}
	}
}

// MetricWalletMismatches is the name of the wrong-open-wallet counter, for alerts and tests.
const MetricWalletMismatches = "xmr_escrow_wallet_mismatches_total"

// CountMismatches exports an instance's mismatch count, read at every scrape; the worker
// passes its activities.Counters.Mismatches.Load. The activities keep the count in their
// Counters, as they do Opens, so they need no dependency on this package.
func (m *Metrics) CountMismatches(instance string, count func() int64) {
	m.mismatches.watch(instance, count)
}

// MetricStepsYielded is the name of the counter of steps that stood back for a setup.
const MetricStepsYielded = "xmr_escrow_steps_yielded_total"

// CountYields exports an instance's count of steps that stood back (Counters.Yields).
func (m *Metrics) CountYields(instance string, count func() int64) {
	m.yields.watch(instance, count)
}

// MetricWalletInstances is the gauge of wallet-rpc instances by state.
const MetricWalletInstances = "xmr_escrow_wallet_instances"

// SetInstances sets the deployment-wide pool gauges.
func (m *Metrics) SetInstances(live, leased, wanted int64) {
	m.instances.WithLabelValues("live").Set(float64(live))
	m.instances.WithLabelValues("leased").Set(float64(leased))
	m.instances.WithLabelValues("wanted").Set(float64(wanted))
}

// MetricWalletRPCPool is the gauge of one host's pool size and budget.
const MetricWalletRPCPool = "xmr_escrow_wallet_rpc_pool"

// SetPool sets this host's pool gauges.
func (m *Metrics) SetPool(instances, maxInstances int, memory, memoryBudget int64) {
	m.pool.WithLabelValues("instances").Set(float64(instances))
	m.pool.WithLabelValues("max_instances").Set(float64(maxInstances))
	m.pool.WithLabelValues("memory_bytes").Set(float64(memory))
	m.pool.WithLabelValues("memory_budget_bytes").Set(float64(memoryBudget))
}

// MetricBlockWatcher is the gauge of this process's block-watcher replica.
const MetricBlockWatcher = "xmr_escrow_block_watcher"

// SetWatcher sets the block-watcher gauges.
func (m *Metrics) SetWatcher(leading bool, height uint64, watched, seen, unreadTxs, unreadOutputs int64) {
	l := 0.0
	if leading {
		l = 1
	}
	m.watcher.WithLabelValues("leading").Set(l)
	m.watcher.WithLabelValues("height").Set(float64(height))
	m.watcher.WithLabelValues("watched").Set(float64(watched))
	m.watcher.WithLabelValues("payments_seen").Set(float64(seen))
	m.watcher.WithLabelValues("unread_txs").Set(float64(unreadTxs))
	m.watcher.WithLabelValues("unread_outputs").Set(float64(unreadOutputs))
}

// ObserveStepWait records how long a step waited for its wallet-rpc.
func (m *Metrics) ObserveStepWait(instance, step string, d time.Duration) {
	m.stepWait.WithLabelValues(instance, step).Observe(d.Seconds())
}

// MetricEscrowsSharingAHost is the gauge of running escrows whose roles share a host.
const MetricEscrowsSharingAHost = "xmr_escrow_escrows_sharing_a_host"

// SetPlacement sets the deployment-wide placement gauges: escrows whose roles share a host,
// and setups waiting for capacity.
func (m *Metrics) SetPlacement(sharing, waiting int64) {
	m.sharing.Set(float64(sharing))
	m.waiting.Set(float64(waiting))
}

// SetEscrows sets the number of running escrows in one status.
func (m *Metrics) SetEscrows(status string, n int64) {
	m.escrows.WithLabelValues(status).Set(float64(n))
}

func errorCode(err error) string {
	if code, ok := walletrpc.Code(err); ok {
		return strconv.Itoa(code)
	}
	if walletrpc.IsRetryable(err) {
		return "transport"
	}
	return "other"
}

// Serve answers GET /metrics on ln until ctx ends.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("metrics server: %w", err)
	}
	return nil
}
