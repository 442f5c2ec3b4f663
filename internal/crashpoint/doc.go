// Package crashpoint kills the worker process at an exact step of a setup, for the worker
// crash test (integration/worker_crash_test.go). Only binaries built with the crashpoints
// build tag act on it; production binaries get an At that does nothing.
package crashpoint
