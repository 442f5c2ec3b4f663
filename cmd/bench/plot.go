package main

import (
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plot draws two panels into one PNG: p50 latency vs N and throughput vs N, one line per
// series, K and D (one colour per K and D, one dash pattern per series: styleOf).
func (rep *Report) plot(path string) error {
	lat, thr := plot.New(), plot.New()
	lat.Title.Text, lat.X.Label.Text, lat.Y.Label.Text = "p50 setup latency", "N concurrent setups", "seconds"
	thr.Title.Text, thr.X.Label.Text, thr.Y.Label.Text = "throughput", "N concurrent setups", "escrows per minute"
	thr.Title.Text = "throughput (lines as on the left)"
	for _, p := range []*plot.Plot{lat, thr} {
		p.Add(plotter.NewGrid())
		p.X.Tick.Marker = intTicks(rep.Ns)
		p.Y.Min = 0
	}
	lat.Legend.Top, lat.Legend.Left = true, true
	colour := 0
	for _, k := range rep.Ks {
		for _, ds := range rep.DelaysS {
			d := time.Duration(ds * float64(time.Second))
			for _, sys := range series {
				var lxy, txy plotter.XYs
				for _, n := range rep.Ns {
					r := rep.find(sys, Config{N: n, K: k, Delay: d})
					if r == nil || r.Completed == 0 || math.IsNaN(r.P50S) {
						continue
					}
					lxy = append(lxy, plotter.XY{X: float64(n), Y: r.P50S})
					txy = append(txy, plotter.XY{X: float64(n), Y: r.ThroughputPerMin})
				}
				if len(lxy) == 0 {
					continue
				}
				label := fmt.Sprintf("%s K=%d D=%s", sys, k, fmtDelay(d))
				for _, a := range []struct {
					p   *plot.Plot
					xys plotter.XYs
				}{{lat, lxy}, {thr, txy}} {
					l, s, err := plotter.NewLinePoints(a.xys)
					if err != nil {
						return err
					}
					l.Color, s.Color = plotutil.Color(colour), plotutil.Color(colour)
					l.Width = vg.Points(1.5)
					s.Shape = plotutil.Shape(colour)
					l.Dashes = styleOf(sys)
					a.p.Add(l, s)
					if a.p == lat {
						lat.Legend.Add(label, l, s)
					}
				}
			}
			colour++
		}
	}
	return savePair(path, lat, thr)
}

// styleOf tells the series apart in a plot whose colours tell K and D apart: ours solid,
// ours-down dotted, the script dash-dotted, the baseline dashed.
func styleOf(series string) []vg.Length {
	switch series {
	case "ours-down":
		return []vg.Length{vg.Points(1.5), vg.Points(2.5)}
	case "script":
		return []vg.Length{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)}
	case "baseline":
		return []vg.Length{vg.Points(5), vg.Points(3)}
	}
	return nil
}

// plotPurge draws what the purge delay costs: sustained throughput (the largest N) against
// D, and the single-escrow latency (the median where repeated) against D, one line per
// series and K.
func (rep *Report) plotPurge(path string) error {
	thr, lat := plot.New(), plot.New()
	nmax := 0
	for _, n := range rep.Ns {
		nmax = max(nmax, n)
	}
	thr.Title.Text, thr.X.Label.Text, thr.Y.Label.Text = fmt.Sprintf("sustained throughput (N=%d)", nmax), "purge delay D (s)", "escrows per minute"
	lat.Title.Text, lat.X.Label.Text, lat.Y.Label.Text = "one escrow alone (N=1)", "purge delay D (s)", "seconds"
	for _, p := range []*plot.Plot{thr, lat} {
		p.Add(plotter.NewGrid())
		p.X.Tick.Marker = delayTicks(rep.DelaysS)
		p.X.Min, p.Y.Min = 0, 0
	}
	thr.Legend.Top = true
	colour := 0
	for _, k := range rep.Ks {
		for _, sys := range series {
			var txy, lxy plotter.XYs
			for _, ds := range rep.DelaysS {
				if r := rep.find(sys, Config{N: nmax, K: k, Delay: delayOf(ds)}); ok(r) {
					txy = append(txy, plotter.XY{X: ds, Y: r.ThroughputPerMin})
				}
				if r := rep.find(sys, Config{N: 1, K: k, Delay: delayOf(ds)}); ok(r) {
					lxy = append(lxy, plotter.XY{X: ds, Y: r.wallMedian()})
				}
			}
			for _, a := range []struct {
				p   *plot.Plot
				xys plotter.XYs
			}{{thr, txy}, {lat, lxy}} {
				if len(a.xys) == 0 {
					continue
				}
				sort.Slice(a.xys, func(i, j int) bool { return a.xys[i].X < a.xys[j].X })
				l, s, err := plotter.NewLinePoints(a.xys)
				if err != nil {
					return err
				}
				l.Color, s.Color = plotutil.Color(colour), plotutil.Color(colour)
				l.Width, l.Dashes, s.Shape = vg.Points(1.5), styleOf(sys), plotutil.Shape(colour)
				a.p.Add(l, s)
				if a.p == thr {
					thr.Legend.Add(fmt.Sprintf("%s K=%d", sys, k), l, s)
				}
			}
			colour++
		}
	}
	return savePair(path, thr, lat)
}

// savePair writes two plots side by side into one PNG.
func savePair(path string, left, right *plot.Plot) error {
	img := vgimg.New(vg.Points(1100), vg.Points(450))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(20), PadTop: vg.Points(10), PadBottom: vg.Points(10), PadLeft: vg.Points(10), PadRight: vg.Points(10)}
	canvases := plot.Align([][]*plot.Plot{{left, right}}, tiles, dc)
	left.Draw(canvases[0][0])
	right.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// intTicks puts one tick at each N.
type intTicks []int

// Ticks implements plot.Ticker.
func (t intTicks) Ticks(_, _ float64) []plot.Tick {
	out := make([]plot.Tick, 0, len(t))
	for _, n := range t {
		out = append(out, plot.Tick{Value: float64(n), Label: fmt.Sprint(n)})
	}
	return out
}

// delayTicks puts one tick at each purge delay.
type delayTicks []float64

// Ticks implements plot.Ticker.
func (t delayTicks) Ticks(_, _ float64) []plot.Tick {
	out := make([]plot.Tick, 0, len(t))
	for _, d := range t {
		out = append(out, plot.Tick{Value: d, Label: fmtDelay(delayOf(d))})
	}
	return out
}
