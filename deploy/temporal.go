package deploy

import (
	"embed"
	"fmt"
	"slices"
)

// TemporalFiles are the Temporal cluster's configuration and scripts, exactly as the compose
// stack mounts them: config/xmr-escrow.yaml (the server's), config/dynamicconfig/,
// start-service.sh (starts one service) and certs.sh (makes its mTLS certificates).
// devstack.StartCluster writes these same bytes out and runs them.
//
//go:embed temporal/config temporal/start-service.sh temporal/certs.sh
var TemporalFiles embed.FS

// TemporalServerVersion is the Temporal server release of the cluster: the compose stack's
// temporalio/server and admin-tools images, and the build the tests run (scripts/tools.sh).
const TemporalServerVersion = "v1.29.1"

// TemporalServices are the cluster's services, each its own process or container.
var TemporalServices = []string{"frontend", "history", "matching", "worker"}

// Variables of the cluster's configuration besides the ports (config/xmr-escrow.yaml).
const (
	EnvBindOnIP        = "BIND_ON_IP"
	EnvLogLevel        = "LOG_LEVEL"
	EnvFrontendAddress = "FRONTEND_ADDRESS"
	EnvPrometheusPort  = "PROMETHEUS_PORT"
	EnvServerCA        = "SERVER_TLS_CA"
	EnvServerCert      = "SERVER_TLS_CERT"
	EnvServerKey       = "SERVER_TLS_KEY"
	EnvServerName      = "SERVER_TLS_NAME"
	EnvDBHost          = "POSTGRES_SEEDS"
	EnvDBPort          = "DB_PORT"
	EnvDBUser          = "POSTGRES_USER"
	EnvDBPassword      = "POSTGRES_PWD"
	EnvDBName          = "DBNAME"
	EnvVisibilityDB    = "VISIBILITY_DBNAME"
)

// PortVar names a service's port variable in the configuration: PortVar("history", "GRPC")
// is HISTORY_GRPC_PORT. Kinds: GRPC, MEMBERSHIP, and HTTP for the frontend.
func PortVar(service, kind string) string {
	return fmt.Sprintf("%s_%s_PORT", map[string]string{"frontend": "FRONTEND", "history": "HISTORY", "matching": "MATCHING", "worker": "WORKER"}[service], kind)
}

// TemporalEnvNames are the variables every service of the cluster is given, sorted, besides
// PROMETHEUS_PORT (one per process; the containers keep the default). BIND_ON_IP is among
// them: the tests set it, start-service.sh finds a container's own.
func TemporalEnvNames() []string {
	names := []string{EnvBindOnIP, EnvLogLevel, EnvFrontendAddress, EnvServerCA, EnvServerCert, EnvServerKey, EnvServerName,
		EnvDBHost, EnvDBPort, EnvDBUser, EnvDBPassword, EnvDBName, EnvVisibilityDB, PortVar("frontend", "HTTP")}
	for _, s := range TemporalServices {
		names = append(names, PortVar(s, "GRPC"), PortVar(s, "MEMBERSHIP"))
	}
	slices.Sort(names)
	return names
}
