package devstack

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/xmr-escrow/xmr-escrow/deploy"
	"github.com/xmr-escrow/xmr-escrow/internal/walletproc"
)

// TemporalServerVersion is the Temporal server release of the tests' cluster, the one the
// compose stack's temporalio/server and admin-tools images run.
const TemporalServerVersion = deploy.TemporalServerVersion

// howToGetServer ends every lookup error, so a failing test says the one command that fixes it.
const howToGetServer = "run `make tools` (builds go.temporal.io/server/cmd/server and cmd/tools/sql @" +
	TemporalServerVersion + " into ~/.cache/xmr-escrow/temporal-server-" + TemporalServerVersion + ")"

// TemporalServerBinDir is where `make tools` puts temporal-server and temporal-sql-tool,
// under the names the images give them.
func TemporalServerBinDir() (string, error) {
	bin, err := ToolsBinDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(filepath.Dir(bin), "temporal-server-"+TemporalServerVersion)
	for _, name := range []string{"temporal-server", "temporal-sql-tool"} {
		if err := walletproc.CheckExecutable(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("temporal server %s: %w; %s", TemporalServerVersion, err, howToGetServer)
		}
	}
	return dir, nil
}

// writeTemporalFiles writes the compose stack's Temporal files (deploy.TemporalFiles) under
// dir, scripts executable, and returns the folder holding config/ and the scripts.
func writeTemporalFiles(dir string) (string, error) {
	err := fs.WalkDir(deploy.TemporalFiles, "temporal", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out := filepath.Join(dir, path)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := deploy.TemporalFiles.ReadFile(path)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(path, ".sh") {
			mode = 0o755
		}
		return os.WriteFile(out, data, mode)
	})
	if err != nil {
		return "", fmt.Errorf("write the cluster's config: %w", err)
	}
	return filepath.Join(dir, "temporal"), nil
}

// makeCerts runs the compose stack's certs.sh: a CA, the cluster's certificate for
// serverName, and a client certificate per name.
func makeCerts(ctx context.Context, root, dir, serverName string, clients ...string) error {
	args := append([]string{filepath.Join(root, "certs.sh"), dir, serverName}, clients...)
	out, err := exec.CommandContext(ctx, "sh", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("certs.sh: %w\n%s", err, out)
	}
	return nil
}

// OtherCA makes a second CA with one client certificate signed by it, under dir: a client
// the cluster must refuse although its certificate is well formed.
func (c *Cluster) OtherCA(ctx context.Context, dir, client string) (ClientCert, error) {
	if err := makeCerts(ctx, c.root, dir, c.ServerName, client); err != nil {
		return ClientCert{}, err
	}
	return certsIn(dir, client), nil
}

// ClientCert is what a client presents to the cluster and trusts of it.
type ClientCert struct {
	// CA verifies the cluster's certificate; Cert and Key are the client's own.
	CA, Cert, Key string
}

func certsIn(dir, client string) ClientCert {
	return ClientCert{
		CA:   filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, "client-"+client+".pem"),
		Key:  filepath.Join(dir, "client-"+client+".key"),
	}
}
