package metrics

import (
	"context"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/xmr-escrow/xmr-escrow/escrow"
)

// StepWait returns a worker interceptor for one wallet-rpc instance's worker that records,
// for every step it runs, how long the step waited in the instance's queue.
func (m *Metrics) StepWait(instance string) interceptor.WorkerInterceptor {
	return &stepWait{m: m, instance: instance}
}

type stepWait struct {
	interceptor.WorkerInterceptorBase
	m        *Metrics
	instance string
}

// InterceptActivity wraps each activity of the instance's worker.
func (s *stepWait) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &stepWaitInbound{s: s}
	i.Next = next
	return i
}

type stepWaitInbound struct {
	interceptor.ActivityInboundInterceptorBase
	s *stepWait
}

// ExecuteActivity records the step's wait before running it.
func (i *stepWaitInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (interface{}, error) {
	info := activity.GetInfo(ctx)
	if !info.ScheduledTime.IsZero() && info.StartedTime.After(info.ScheduledTime) {
		i.s.m.ObserveStepWait(i.s.instance, info.ActivityType.Name, info.StartedTime.Sub(info.ScheduledTime))
	}
	return i.Next.ExecuteActivity(ctx, in)
}

// CountEscrows refreshes the escrows-by-status gauge from Temporal's visibility every
// interval until ctx ends: one count query per status, cheap next to any wallet call.
func (m *Metrics) CountEscrows(ctx context.Context, c client.Client, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, st := range escrow.Statuses {
			q := escrow.SearchAttrStatus.GetName() + " = '" + string(st) + "' AND ExecutionStatus = 'Running'"
			res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
			if err == nil {
				m.SetEscrows(string(st), res.GetCount())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
