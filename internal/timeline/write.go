package timeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the timeline as an aligned table, one row per entry: the offset from
// the first event, kind, name, instance, wait (schedule-to-start), run (start-to-close),
// duration, attempt, result and detail. Columns that do not apply to a kind stay "-".
func (t Timeline) WriteTable(w io.Writer) error {
	runs := "no run"
	if len(t.Runs) > 0 {
		runs = fmt.Sprintf("%d run(s): %s", len(t.Runs), strings.Join(t.Runs, ", "))
	}
	if _, err := fmt.Fprintf(w, "escrow %s (workflow %s), %s\n", t.EscrowID, t.WorkflowID, runs); err != nil {
		return err
	}
	// The table goes through a buffer because tabwriter pads the last cell too, and
	// trailing spaces are noise in a ticket or a diff.
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tKIND\tNAME\tINSTANCE\tWAIT\tRUN\tDURATION\tATTEMPT\tRESULT\tDETAIL")
	base := t.base()
	for _, e := range t.Entries {
		wait, run, attempt := "-", "-", "-"
		if e.Kind == KindStep {
			if e.Result != ResultPending {
				wait, run = dur(e.Wait), dur(e.StartToClose())
			}
			if e.Attempt > 0 {
				attempt = fmt.Sprint(e.Attempt)
			}
		}
		total := "-"
		if e.hasDuration() {
			total = dur(e.Duration)
		}
		fmt.Fprintf(tw, "+%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			dur(e.Start.Sub(base)), e.Kind, e.Name, dash(e.Instance), wait, run, total, attempt, e.Result, e.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if _, err := io.WriteString(w, strings.TrimRight(line, " ")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes the timeline as one JSON object. Durations are milliseconds (a float,
// so sub-millisecond steps do not read as 0) and each entry carries its offset from the
// first event, so a script needs no time arithmetic.
func (t Timeline) WriteJSON(w io.Writer) error {
	type entry struct {
		Kind         string    `json:"kind"`
		Name         string    `json:"name"`
		Instance     string    `json:"instance,omitempty"`
		Start        time.Time `json:"start"`
		OffsetMS     float64   `json:"offset_ms"`
		WaitMS       float64   `json:"wait_ms,omitempty"`
		StartCloseMS float64   `json:"start_to_close_ms,omitempty"`
		DurationMS   float64   `json:"duration_ms"`
		Attempt      int32     `json:"attempt,omitempty"`
		Result       string    `json:"result,omitempty"`
		Detail       string    `json:"detail,omitempty"`
	}
	out := struct {
		EscrowID   string   `json:"escrow_id"`
		WorkflowID string   `json:"workflow_id"`
		Runs       []string `json:"runs"`
		Entries    []entry  `json:"entries"`
	}{EscrowID: t.EscrowID, WorkflowID: t.WorkflowID, Runs: t.Runs, Entries: []entry{}}
	base := t.base()
	for _, e := range t.Entries {
		je := entry{Kind: e.Kind, Name: e.Name, Instance: e.Instance, Start: e.Start.UTC(), OffsetMS: ms(e.Start.Sub(base)),
			DurationMS: ms(e.Duration), Attempt: e.Attempt, Result: e.Result, Detail: e.Detail}
		if e.Kind == KindStep {
			je.WaitMS, je.StartCloseMS = ms(e.Wait), ms(e.StartToClose())
		}
		out.Entries = append(out.Entries, je)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// hasDuration says whether Duration means something for this entry: phase changes and
// signals are instants, and open rows have no end yet.
func (e Entry) hasDuration() bool {
	switch e.Kind {
	case KindPhase, KindSignal:
		return false
	case KindWorkflow:
		return e.Name != "started" && e.Name != "workflow task"
	}
	return e.Result != ResultPending
}

// base is the time of the first event: the first run's start.
func (t Timeline) base() time.Time {
	if len(t.Entries) == 0 {
		return time.Time{}
	}
	return t.Entries[0].Start
}

// dur rounds to the millisecond: history's timestamps are exact, but a table of
// nanoseconds is unreadable.
func dur(d time.Duration) string {
	if d > 0 && d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}

// ms is d in milliseconds, to the microsecond: finer is clock noise.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
