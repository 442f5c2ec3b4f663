package main

import (
	"fmt"
	"math"
	"os"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plot draws two panels into one PNG: p50 latency vs N and throughput vs N, one line per
// system, K and D (ours solid, the baseline dashed; one colour per K and D).
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
			for _, sys := range []string{"ours", "baseline"} {
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
					if sys == "baseline" {
						l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
					}
					a.p.Add(l, s)
					if a.p == lat {
						lat.Legend.Add(label, l, s)
					}
				}
			}
			colour++
		}
	}
	img := vgimg.New(vg.Points(1100), vg.Points(450))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(20), PadTop: vg.Points(10), PadBottom: vg.Points(10), PadLeft: vg.Points(10), PadRight: vg.Points(10)}
	plots := [][]*plot.Plot{{lat, thr}}
	canvases := plot.Align(plots, tiles, dc)
	lat.Draw(canvases[0][0])
	thr.Draw(canvases[0][1])
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

func (t intTicks) Ticks(_, _ float64) []plot.Tick {
	out := make([]plot.Tick, 0, len(t))
	for _, n := range t {
		out = append(out, plot.Tick{Value: float64(n), Label: fmt.Sprint(n)})
	}
	return out
}
