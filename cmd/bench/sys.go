package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/xmr-escrow/xmr-escrow/internal/devstack"
	"github.com/xmr-escrow/xmr-escrow/internal/localstack"
	"github.com/xmr-escrow/xmr-escrow/walletrpc"
)

// userHZ is the kernel's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux.
const userHZ = 100

// procCPU returns the CPU time (user + system) the process has used so far, from
// /proc/<pid>/stat fields 14 and 15.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: fields start after the
	// last ')'. fields[0] is then field 3 (state), so field n is fields[n-3].
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// sumCPU adds up procCPU over pids; a process that is gone counts as an error.
func sumCPU(pids []int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		d, err := procCPU(pid)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// Machine describes where the numbers were measured.
type Machine struct {
	NProc       int    `json:"nproc"`
	CPUModel    string `json:"cpu_model"`
	MemTotal    string `json:"mem_total"`
	Kernel      string `json:"kernel"`
	GoVersion   string `json:"go_version"`
	WalletRPC   string `json:"wallet_rpc"`
	TemporalCLI string `json:"temporal_cli"`
	Date        string `json:"date"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	UserHZNote  string `json:"user_hz_note"`
}

func machineInfo() Machine {
	m := Machine{
		NProc:      runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		Date:       time.Now().UTC().Format(time.RFC3339),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		UserHZNote: "wallet-rpc CPU from /proc/<pid>/stat utime+stime, USER_HZ=100",
	}
	m.CPUModel = firstValue("/proc/cpuinfo", "model name")
	m.MemTotal = firstValue("/proc/meminfo", "MemTotal")
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if bin, err := devstack.WalletRPCBinary(); err == nil {
		m.WalletRPC = firstLine(bin, "--version")
	}
	if bin, err := devstack.TemporalBinary(); err == nil {
		m.TemporalCLI = firstLine(bin, "--version")
	}
	return m
}

// firstValue returns the value of the first "key : value" line of a /proc file.
func firstValue(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// firstLine runs bin with args (bounded to 10 s) and returns the first line it prints.
func firstLine(bin string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}

// newDatabase creates a fresh, uniquely named database on server for one local stack and
// returns its URL and a function that drops it (WITH (FORCE): pools left open do not keep
// it alive).
func newDatabase(ctx context.Context, server string) (string, func(), error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme == "" {
		return "", nil, fmt.Errorf("-postgres must be a postgres:// URL")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	name := "xmr_escrow_bench_" + hex.EncodeToString(b[:])
	db := *u
	db.Path = "/" + name
	dsn := db.String()
	if err := localstack.EnsureDatabase(ctx, dsn); err != nil {
		return "", nil, err
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sql.Open("postgres", server)
		if err != nil {
			logf("drop database %s: %v", name, err)
			return
		}
		defer func() { _ = admin.Close() }()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			logf("drop database %s: %v", name, err)
		}
	}
	return dsn, drop, nil
}

// systemBusy is the CPU time the whole machine has spent busy (user, nice, system, irq,
// softirq, steal; guest time is part of user), from the first line of /proc/stat.
func systemBusy() (time.Duration, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, fmt.Errorf("/proc/stat: empty")
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line")
	}
	var ticks int64
	for i, v := range fields[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuMeter tells the machine's CPU use apart from the benchmark's own: the processes
// mine returns (both wallet-rpc pools, the dev server, this process).
type cpuMeter struct {
	mine func() []int
}

type cpuSample struct {
	busy, mine time.Duration
	ok         bool
}

func (m cpuMeter) sample() cpuSample {
	busy, err := systemBusy()
	if err != nil {
		return cpuSample{}
	}
	mine, err := sumCPU(m.mine())
	return cpuSample{busy: busy, mine: mine, ok: err == nil}
}

// foreign is the CPU time other processes used between two samples (-1 if unknown).
func foreign(a, b cpuSample) time.Duration {
	if !a.ok || !b.ok {
		return -1
	}
	return max((b.busy-a.busy)-(b.mine-a.mine), 0)
}

// quietThreshold is the foreign load (in cores) under which the machine counts as quiet,
// over quietWindow.
const (
	quietThreshold = 0.15
	quietWindow    = 5 * time.Second
)

// waitQuiet waits, up to limit, until other processes use less than quietThreshold cores
// over quietWindow, so a batch does not share the cores with, say, a test run. It
// returns how long it waited.
func (m cpuMeter) waitQuiet(ctx context.Context, limit time.Duration) (time.Duration, error) {
	began := time.Now()
	lastLog := time.Time{}
	for {
		a := m.sample()
		select {
		case <-ctx.Done():
			return time.Since(began), ctx.Err()
		case <-time.After(quietWindow):
		}
		b := m.sample()
		f := foreign(a, b)
		load := f.Seconds() / quietWindow.Seconds()
		if f >= 0 && load < quietThreshold {
			return time.Since(began), nil
		}
		if time.Since(began) >= limit {
			logf("the machine is still busy (%.2f cores used by other processes) after %s: measuring anyway", load, limit)
			return time.Since(began), nil
		}
		if time.Since(lastLog) >= time.Minute {
			logf("waiting for the machine to be quiet: other processes use %.2f cores", load)
			lastLog = time.Now()
		}
	}
}

// rpcSet is the wallet-rpcs a system other than ours starts for itself, with a client each.
type rpcSet struct {
	who     string
	rpcs    []*devstack.WalletRPC
	clients []*walletrpc.Client
}

// startRPCSet starts K fresh wallet-rpcs under dir with opts, for who ("the script's").
func startRPCSet(ctx context.Context, who, dir string, k int, opts devstack.WalletRPCOptions) (rpcSet, error) {
	rpcs, err := devstack.StartWalletRPCs(ctx, k, dir, opts)
	if err != nil {
		return rpcSet{}, fmt.Errorf("start %s wallet-rpcs (K=%d): %w", who, k, err)
	}
	set := rpcSet{who: who, rpcs: rpcs}
	for _, r := range rpcs {
		set.clients = append(set.clients, walletrpc.New(walletrpc.Config{URL: r.URL, Timeout: 10 * time.Minute}))
	}
	return set, nil
}

// Stop stops the set's wallet-rpcs.
func (s rpcSet) Stop() {
	if err := devstack.StopWalletRPCs(s.rpcs); err != nil {
		logf("stop %s wallet-rpcs: %v", s.who, err)
	}
}

func (s rpcSet) pids() []int {
	var pids []int
	for _, r := range s.rpcs {
		pids = append(pids, r.Proc.Pid())
	}
	return pids
}

// finishedAddress checks, as the product's verify does, that the wallet is a finished 2-of-3
// multisig, and returns its address.
func finishedAddress(ctx context.Context, c *walletrpc.Client) (string, error) {
	ms, err := c.IsMultisig(ctx)
	if err != nil {
		return "", err
	}
	if !ms.Multisig || !ms.Ready || ms.Threshold != 2 || ms.Total != 3 {
		return "", fmt.Errorf("not a finished 2-of-3 wallet: %+v", ms)
	}
	a, err := c.GetAddress(ctx, walletrpc.GetAddressRequest{})
	return a.Address, err
}

// sameAddress fails unless the three wallets agree on one address.
func sameAddress(addr [3]string) error {
	if addr[0] == "" || addr[0] != addr[1] || addr[0] != addr[2] {
		return errors.New("the three wallets disagree on the address")
	}
	return nil
}
