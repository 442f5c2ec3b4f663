// Package logging builds the zap logger every binary uses and adapts it to the Temporal
// SDK's logger, so that lines from workflows and activities carry workflow and run IDs.
package logging

import (
	"fmt"
	"os"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a production zap logger at the given level ("debug", "info", "warn", "error"),
// writing JSON when json is true and a console format otherwise.
func New(level string, json bool) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.Set(level); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	cfg := zap.NewProductionConfig()
	if !json {
		cfg = zap.NewDevelopmentConfig()
		cfg.DisableStacktrace = true
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.OutputPaths = []string{"stderr"}
	l, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("build zap logger: %w", err)
	}
	return l, nil
}

// NewFromEnv builds a logger from XMR_ESCROW_LOG_LEVEL (default info) and
// XMR_ESCROW_LOG_FORMAT ("json" or "console", default json).
func NewFromEnv() (*zap.Logger, error) {
	level := os.Getenv("XMR_ESCROW_LOG_LEVEL")
	if level == "" {
		level = "info"
	}
	return New(level, os.Getenv("XMR_ESCROW_LOG_FORMAT") != "console")
}

// Temporal adapts a zap logger to the SDK's log.Logger; the SDK adds WorkflowID, RunID,
// ActivityID and friends as key-value pairs, which become zap fields here.
type Temporal struct {
	z *zap.Logger
}

var (
	_ log.Logger          = (*Temporal)(nil)
	_ log.WithLogger      = (*Temporal)(nil)
	_ log.WithSkipCallers = (*Temporal)(nil)
)

// NewTemporal wraps z for the Temporal SDK.
func NewTemporal(z *zap.Logger) *Temporal {
	return &Temporal{z: z.WithOptions(zap.AddCallerSkip(1))}
}

func fields(keyvals []interface{}) []zap.Field {
	out := make([]zap.Field, 0, len(keyvals)/2+1)
	for i := 0; i < len(keyvals); i += 2 {
		if i+1 == len(keyvals) {
			out = append(out, zap.Any("extra", keyvals[i]))
			break
		}
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		out = append(out, zap.Any(key, keyvals[i+1]))
	}
	return out
}

// Debug logs at debug level.
func (t *Temporal) Debug(msg string, keyvals ...interface{}) { t.z.Debug(msg, fields(keyvals)...) }

// Info logs at info level.
func (t *Temporal) Info(msg string, keyvals ...interface{}) { t.z.Info(msg, fields(keyvals)...) }

// Warn logs at warn level.
func (t *Temporal) Warn(msg string, keyvals ...interface{}) { t.z.Warn(msg, fields(keyvals)...) }

// Error logs at error level.
func (t *Temporal) Error(msg string, keyvals ...interface{}) { t.z.Error(msg, fields(keyvals)...) }

// With returns a logger that adds keyvals to every line.
func (t *Temporal) With(keyvals ...interface{}) log.Logger {
	return &Temporal{z: t.z.With(fields(keyvals)...)}
}

// WithCallerSkip returns a logger that reports the caller depth frames further up.
func (t *Temporal) WithCallerSkip(depth int) log.Logger {
	return &Temporal{z: t.z.WithOptions(zap.AddCallerSkip(depth))}
}
