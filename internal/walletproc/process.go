package walletproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// reapTimeout bounds how long we wait for the kernel to report the death of a
// SIGKILLed process; only an uninterruptible (D state) process takes longer.
const reapTimeout = 30 * time.Second

// logTailBytes is how much of a log an error message quotes.
const logTailBytes = 4000

// ErrPortTaken marks a start that failed because a port was bound by someone else.
var ErrPortTaken = errors.New("port already in use")

// Process is a child process we own. It runs in its own process group, so a
// signal reaches anything it spawned, and with Pdeathsig=SIGKILL, so it dies
// with us even if we crash before calling Stop.
type Process struct {
	// Name labels the process in errors and logs (e.g. "temporal", "rpc-1").
	Name string
	// LogPath receives the child's stdout and stderr (appended).
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}

	exitErr error // set before done is closed

	stopOnce sync.Once
	stopErr  error
}

// StartProcess starts bin with args, appending its stdout and stderr to logPath.
// ctx only bounds the start: the process lives until Stop or Kill, or until
// this process dies (Pdeathsig), so a short startup deadline cannot kill a
// server that callers go on using.
func StartProcess(ctx context.Context, name string, bin string, args []string, logPath string) (*Process, error) {
	return StartProcessIn(ctx, name, bin, args, logPath, "")
}

// StartProcessIn is StartProcess with a working directory, so children that
// drop files in their cwd drop them in their own data dir.
func StartProcessIn(ctx context.Context, name, bin string, args []string, logPath, dir string) (*Process, error) {
	return startProcess(ctx, name, bin, args, logPath, dir, nil)
}

// StartProcessEnv is StartProcessIn with variables added to the child's environment (the
// Temporal cluster's services take their configuration from it).
func StartProcessEnv(ctx context.Context, name, bin string, args []string, logPath, dir string, env []string) (*Process, error) {
	return startProcess(ctx, name, bin, args, logPath, dir, env)
}

// startProcess is StartProcessIn with variables added to the child's environment and files
// it inherits (descriptors 3, 4, ...).
func startProcess(ctx context.Context, name, bin string, args []string, logPath, dir string, env []string, files ...*os.File) (*Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("start %s: create log dir: %w", name, err)
	}
	// 0600: what a child prints is its user's business. A log an older version made 0644
	// (whose first lines may hold a since-replaced login) is narrowed too.
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", name, err)
	}
	if fi, err := logFile.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		_ = logFile.Chmod(0o600)
	}
	// The child writes straight to the file descriptor: no pipe, so no copy
	// goroutine, and Wait never hangs on a pipe held open by a grandchild.
	defer func() { _ = logFile.Close() }()
	fmt.Fprintf(logFile, "=== walletproc %s: %s %q\n", time.Now().Format(time.RFC3339Nano), bin, args)

	cmd := exec.Command(bin, args...)
	cmd.Stdin = nil
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := spawn(cmd); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// spawnReqs feeds the spawner goroutine; see spawn.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

// spawn starts cmd from one goroutine locked to its OS thread for the life of
// the process. Pdeathsig fires when the *thread* that forked the child exits,
// not the process; Go may end a thread whose locked goroutine returns, which
// would SIGKILL a healthy child. A thread that never exits rules that out.
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as we do
			for r := range spawnReqs {
				r.err <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, err: make(chan error, 1)}
	spawnReqs <- r
	return <-r.err
}

// Pid returns the child's process ID (also its process group ID).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done returns a channel that is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr returns the error from waiting on the process (nil for exit status
// 0), or nil while it is still running.
func (p *Process) ExitErr() error {
	select {
	case <-p.done:
		return p.exitErr
	default:
		return nil
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, waits up to grace for the process
// to exit, then SIGKILLs the group. It is idempotent: later calls return the
// first call's result. It returns an error only if the process had to be killed.
func (p *Process) Stop(grace time.Duration) error {
	p.stopOnce.Do(func() { p.stopErr = p.stop(grace) })
	return p.stopErr
}

func (p *Process) stop(grace time.Duration) error {
	if p.Exited() {
		p.killGroup() // stragglers the leader left behind, if any
		return nil
	}
	if err := p.signalGroup(syscall.SIGTERM); err != nil && !p.Exited() {
		return fmt.Errorf("stop %s (pid %d): SIGTERM: %w", p.Name, p.Pid(), err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		p.killGroup()
		return nil
	case <-timer.C:
	}
	if err := p.Kill(); err != nil {
		return fmt.Errorf("stop %s: did not exit within %s of SIGTERM: %w", p.Name, grace, err)
	}
	return fmt.Errorf("stop %s (pid %d): did not exit within %s of SIGTERM, killed", p.Name, p.Pid(), grace)
}

// Kill SIGKILLs the whole process group at once (a crash, for crash tests)
// and waits until the process is reaped, so Done is closed when it returns.
func (p *Process) Kill() error {
	if err := p.signalGroup(syscall.SIGKILL); err != nil && !p.Exited() {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.Pid(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(reapTimeout):
		return fmt.Errorf("kill %s (pid %d): still not reaped %s after SIGKILL", p.Name, p.Pid(), reapTimeout)
	}
}

// killGroup SIGKILLs whatever is left in the group; ESRCH (empty group) is the
// normal case and is ignored.
func (p *Process) killGroup() { _ = syscall.Kill(-p.Pid(), syscall.SIGKILL) }

// signalGroup signals every process in the child's group; an empty group
// (ESRCH) means the work is already done.
func (p *Process) signalGroup(sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid(), sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// LogTail returns up to the last n bytes of the process log, for error messages.
func (p *Process) LogTail(n int) string { return fileTail(p.LogPath, n) }

// MoneroStartError is the error for a monero program (monerod, monero-wallet-rpc)
// that did not come up: err with the tails of p's console output and of
// monero's own log at logPath, wrapping ErrPortTaken when they show that a port
// was bound by someone else (a start on a port we picked may then be retried).
// what names the start, e.g. "start monerod on http://127.0.0.1:20001".
func MoneroStartError(what string, p *Process, logPath string, err error) error {
	out, log := p.LogTail(logTailBytes), withoutStackTraces(fileTail(logPath, 4*logTailBytes))
	if strings.Contains(out+log, "Address already in use") || strings.Contains(out+log, "Failed to bind") {
		err = fmt.Errorf("%w: %w", ErrPortTaken, err)
	}
	return fmt.Errorf("%s: %w\n--- tail of %s ---\n%s\n--- tail of %s ---\n%s", what, err, p.LogPath, out, logPath, log)
}

// withoutStackTraces drops the "stacktrace" lines monero logs for every
// exception, which would otherwise fill the whole tail and hide the cause.
func withoutStackTraces(log string) string {
	lines := strings.Split(log, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.Contains(l, "\tstacktrace\t") {
			kept = append(kept, l)
		}
	}
	log = strings.Join(kept, "\n")
	if len(log) > logTailBytes {
		log = log[len(log)-logTailBytes:]
	}
	return log
}

// ansiEscape matches terminal color codes, which monero writes even to files.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// fileTail returns the last n bytes of path (starting at a line boundary when
// possible, color codes removed), or a note saying why it could not be read.
func fileTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	off := max(fi.Size()-int64(n), 0)
	buf, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	if off > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 && i < len(buf)-1 {
			buf = buf[i+1:]
		}
	}
	return ansiEscape.ReplaceAllString(string(buf), "")
}
