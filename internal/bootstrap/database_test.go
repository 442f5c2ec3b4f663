package bootstrap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAMissingSQLToolSaysWhereToGetIt(t *testing.T) {
	_, err := SetUpDatabases(t.Context(), Database{Host: "127.0.0.1", Port: "5432", User: "temporal",
		Persistence: "temporal", Visibility: "temporal_visibility", SQLTool: "/nonexistent/temporal-sql-tool"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvSQLTool)
	assert.Contains(t, err.Error(), "admin-tools")
}

func TestDatabaseFromEnvReadsTheClusterConfigsVariables(t *testing.T) {
	t.Setenv("POSTGRES_SEEDS", "db.internal")
	t.Setenv("DB_PORT", "6543")
	t.Setenv("POSTGRES_USER", "tuser")
	t.Setenv("POSTGRES_PWD", "s3cret")
	t.Setenv("DBNAME", "p")
	t.Setenv("VISIBILITY_DBNAME", "v")
	t.Setenv(EnvSQLTool, "")
	d := DatabaseFromEnv()
	assert.Equal(t, Database{Host: "db.internal", Port: "6543", User: "tuser", Password: "s3cret", Persistence: "p", Visibility: "v", SQLTool: "temporal-sql-tool"}, d)
}
