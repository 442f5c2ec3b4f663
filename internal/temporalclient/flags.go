package temporalclient

import "flag"

// RegisterFlags registers the connection flags every command shares on fs, filling o: the
// TLS files, the API key file and the profile (each command keeps its own --address and
// --namespace, whose wording differs). An empty flag leaves the field to the environment
// and the profile. The API key has no flag of its own:
// a command line is visible to every user of the host (ps), so it comes from a file or
// TEMPORAL_API_KEY.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.TLS.CACert, "tls-ca", "", "PEM file of the CA that signed Temporal's server certificate ($"+EnvTLSCA+"; default: system roots)")
	fs.StringVar(&o.TLS.ClientCert, "tls-cert", "", "PEM client certificate for mTLS ($"+EnvTLSCert+")")
	fs.StringVar(&o.TLS.ClientKey, "tls-key", "", "PEM private key of --tls-cert ($"+EnvTLSKey+")")
	fs.StringVar(&o.TLS.ServerName, "tls-server-name", "", "name to verify in Temporal's server certificate, when not the address's host ($"+EnvServerName+")")
	fs.StringVar(&o.APIKeyFile, "api-key-file", "", "file holding a Temporal Cloud API key; implies TLS (or set $"+EnvAPIKey+")")
	fs.StringVar(&o.Profile, "profile", "", "Temporal client profile in $"+EnvConfigFile+" (default $"+EnvProfile+" or \"default\")")
}
