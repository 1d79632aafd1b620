package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The report's charts, drawn by gonum/plot as SVG to inline in the page.
// All three of a run share the time axis and the fault bands.

var (
	colAccepted = color.RGBA{R: 0x43, G: 0xa0, B: 0x47, A: 0xff}
	colFailed   = color.RGBA{R: 0xe5, G: 0x39, B: 0x35, A: 0xff}
	colUnknown  = color.RGBA{R: 0xff, G: 0xa0, B: 0x00, A: 0xff}
	colFault    = color.NRGBA{R: 0x5e, G: 0x35, B: 0xb1, A: 0x30} // translucent
	colFaultTxt = color.RGBA{R: 0x4a, G: 0x14, B: 0x8c, A: 0xff}
	// violation marks on the timeline
	violationGlyphs = []struct {
		name  string
		shape draw.GlyphDrawer
		color color.Color
	}{
		{"lost", draw.CrossGlyph{}, color.Black},
		{"duplicated", draw.TriangleGlyph{}, color.RGBA{R: 0x8e, G: 0x24, B: 0xaa, A: 0xff}},
		{"unexpected", draw.RingGlyph{}, color.RGBA{R: 0x15, G: 0x65, B: 0xc0, A: 0xff}},
	}
)

const chartW, chartH = 10 * vg.Inch, 2.6 * vg.Inch

// chartData is what a run's charts show.
type chartData struct {
	span    time.Duration
	width   time.Duration // of a bucket
	buckets []Bucket
	bands   []Band
	inputs  []string
	// marks: seconds since start at which an operation of a violated id
	// was invoked, by violation ("lost", "duplicated", "unexpected").
	marks map[string][]float64
	// samples: the system's state over time, by what was observed
	// (history.SampleReady, SampleDepth) and name, in seconds since start.
	samples map[string]map[string][]plotter.XYs
	// invariants: each invariant's checks, by outcome
	invariants []InvariantRow
}

// sampleSeries groups samples by what they observed and what of, as
// points in seconds since start. A series is cut where no sample came for
// over sampleGap (the broker's API was down, say): a gap is drawn as a
// gap, not as the last value held.
func sampleSeries(ss []history.Sample, start time.Time) map[string]map[string][]plotter.XYs {
	out := map[string]map[string][]plotter.XYs{}
	for _, s := range ss {
		if out[s.Observed] == nil {
			out[s.Observed] = map[string][]plotter.XYs{}
		}
		parts := out[s.Observed][s.Name]
		x := s.At.Sub(start).Seconds()
		if n := len(parts); n == 0 || x-parts[n-1][len(parts[n-1])-1].X > sampleGap.Seconds() {
			parts = append(parts, nil)
		}
		parts[len(parts)-1] = append(parts[len(parts)-1], plotter.XY{X: x, Y: s.Value})
		out[s.Observed][s.Name] = parts
	}
	return out
}

// sampleGap is the longest quiet between two samples of one series that
// is still drawn as a line (samples come every second).
const sampleGap = 2500 * time.Millisecond

// stateChart draws one series per name of what was observed, as steps:
// queue depths, or replica readiness (1 ready, 0 not). Nil without
// samples of it.
func stateChart(observed, title, ylabel string) func(chartData) (*plot.Plot, error) {
	return func(d chartData) (*plot.Plot, error) {
		series := d.samples[observed]
		if len(series) == 0 {
			return nil, nil
		}
		p := newPlot(title, ylabel, d)
		peak := 1.0
		for _, parts := range series {
			for _, xys := range parts {
				for _, xy := range xys {
					peak = max(peak, xy.Y)
				}
			}
		}
		ymax := peak * 1.25
		if observed == history.SampleReady {
			ymax = 1.3
		}
		p.Y.Min, p.Y.Max = 0, ymax
		if err := addBands(p, d.bands, 0, ymax, false); err != nil {
			return nil, err
		}
		names := make([]string, 0, len(series))
		for n := range series {
			names = append(names, n)
		}
		slices.Sort(names)
		for k, n := range names {
			for i, xys := range series[n] {
				l, err := plotter.NewLine(xys)
				if err != nil {
					return nil, err
				}
				l.StepStyle = plotter.PostStep
				l.Color = plotutil.Color(k)
				l.Width = vg.Points(1.5)
				if observed == history.SampleReady {
					// drawn one over the other: the first the widest, so each shows
					l.Width = vg.Points(1.5 + float64(len(names)-1-k))
				}
				p.Add(l)
				if i == 0 {
					p.Legend.Add(n, l)
				}
			}
		}
		p.Legend.Top = true
		return p, nil
	}
}

func newPlot(title, ylabel string, d chartData) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.Text = "seconds since the run started"
	p.Y.Label.Text = ylabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(9)
		a.Tick.Label.Font.Size = vg.Points(8)
	}
	p.X.Min, p.X.Max = 0, max(d.span.Seconds(), d.width.Seconds())
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	return p
}

// plainTicks are gonum's default ticks labelled without trailing zeros
// ("75", not "75.00") and without a sum's rounding error ("1.2", not
// "1.2000000000000002").
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', 12, 64)
		}
	}
	return ts
}

// addBands shades each fault's interval between ymin and ymax (an
// instant is a dashed line) and names it at the top.
func addBands(p *plot.Plot, bands []Band, ymin, ymax float64, named bool) error {
	var labels plotter.XYLabels
	var rows []float64                          // where each row of fault names ends, in seconds
	rowH := (ymax - ymin) * faultLabelH / plotH // a row of names, in data units
	inLegend := named                           // the timeline's legend is the page's
	for _, b := range bands {
		x0, x1 := b.From.Seconds(), b.To.Seconds()
		if b.Instant() {
			l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: ymin}, {X: x0, Y: ymax}})
			if err != nil {
				return err
			}
			l.Color = colFaultTxt
			l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
			p.Add(l)
		} else {
			pg, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: ymin}, {X: x1, Y: ymin}, {X: x1, Y: ymax}, {X: x0, Y: ymax}})
			if err != nil {
				return err
			}
			pg.Color = colFault
			pg.LineStyle.Width = 0
			p.Add(pg)
			if !inLegend {
				p.Legend.Add("fault", pg)
				inLegend = true
			}
		}
		if named {
			labels.XYs = append(labels.XYs, plotter.XY{X: x0, Y: ymax - float64(labelRow(&rows, p, b.Name, x0))*rowH})
			labels.Labels = append(labels.Labels, " "+b.Name)
		}
	}
	if len(labels.Labels) > 0 {
		l, err := plotter.NewLabels(labels)
		if err != nil {
			return err
		}
		for i := range l.TextStyle {
			l.TextStyle[i].Color = colFaultTxt
			l.TextStyle[i].Font.Size = vg.Points(faultLabelPt)
			l.TextStyle[i].YAlign = -1 // below the top
		}
		p.Add(l)
	}
	return nil
}

// The fault names on the timeline: their font, how wide a character is
// about (Liberation Sans averages half an em), a row's height, and the
// height of a chart's data area (its tile less title and axis), in points.
const (
	faultLabelPt = 7.5
	faultLabelH  = 10.0
	plotH        = 2.6*72 - 55
	plotW        = 10*72 - 70
)

// labelRow is the first row of fault names (0 at the top, at most 3
// rows) where name, starting at x seconds, overlaps no earlier name; the
// least full row when every one does. rows holds where each row ends.
func labelRow(rows *[]float64, p *plot.Plot, name string, x float64) int {
	perPt := (p.X.Max - p.X.Min) / plotW
	end := x + float64(len(name)+2)*faultLabelPt*0.5*perPt
	best := 0
	for i, e := range *rows {
		if x >= e {
			(*rows)[i] = end
			return i
		}
		if e < (*rows)[best] {
			best = i
		}
	}
	if len(*rows) < 3 {
		*rows = append(*rows, end)
		return len(*rows) - 1
	}
	(*rows)[best] = max((*rows)[best], end)
	return best
}

// timelineChart: operations started per bucket, stacked by how they
// ended, behind them the faults, above them the violated ids. Its legend
// is the page's (timelineLegend): six entries inside the plot would
// cover the data.
func timelineChart(d chartData) (*plot.Plot, error) {
	w := d.width.Seconds()
	p := newPlot(fmt.Sprintf("Operations started per %s, by outcome", d.width), "operations", d)
	var peak int
	for _, b := range d.buckets {
		peak = max(peak, b.Accepted+b.Failed+b.Unknown)
	}
	var rows []float64 // rows of fault names, as addBands will lay them out
	for _, b := range d.bands {
		labelRow(&rows, p, b.Name, b.From.Seconds())
	}
	// head room for the violated ids and the fault names, a row more of
	// them for each row of names past the first
	ymax := float64(max(peak, 1)) * (1.35 + 0.15*float64(max(len(rows)-1, 0)))
	p.Y.Min, p.Y.Max = 0, ymax
	if err := addBands(p, d.bands, 0, ymax, true); err != nil {
		return nil, err
	}
	// Stacked areas: the total (unknown on top), then accepted+failed,
	// then accepted, each filled over the one before.
	layers := []struct {
		name  string
		col   color.Color
		value func(Bucket) int
	}{
		{"unknown", colUnknown, func(b Bucket) int { return b.Accepted + b.Failed + b.Unknown }},
		{"failed", colFailed, func(b Bucket) int { return b.Accepted + b.Failed }},
		{"accepted", colAccepted, func(b Bucket) int { return b.Accepted }},
	}
	for _, layer := range layers {
		xys := make(plotter.XYs, 0, len(d.buckets)+1)
		for i, b := range d.buckets {
			xys = append(xys, plotter.XY{X: float64(i) * w, Y: float64(layer.value(b))})
		}
		xys = append(xys, plotter.XY{X: float64(len(d.buckets)) * w, Y: xys[len(xys)-1].Y})
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		l.FillColor = layer.col
		l.Color = layer.col
		l.Width = vg.Points(0.5)
		p.Add(l)
	}
	for i, g := range violationGlyphs {
		xs := d.marks[g.name]
		if len(xs) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(xs))
		for j, x := range xs {
			xys[j] = plotter.XY{X: x, Y: float64(peak) * (1.08 + 0.08*float64(i))}
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: g.color, Radius: vg.Points(3), Shape: g.shape}
		p.Add(s)
	}
	return p, nil
}

// throughputChart: operations completed per second, one line per input.
func throughputChart(d chartData) (*plot.Plot, error) {
	w := d.width.Seconds()
	p := newPlot("Throughput: operations completed per second, by input", "operations / s", d)
	var peak float64
	series := make([]plotter.XYs, len(d.inputs))
	for k, in := range d.inputs {
		for i, b := range d.buckets {
			covered := min(w, (d.span - b.From).Seconds())
			if covered < w/2 {
				continue // the run ended early in this bucket: its rate would mislead
			}
			y := float64(b.Completed[in]) / covered
			peak = max(peak, y)
			series[k] = append(series[k], plotter.XY{X: (float64(i) + 0.5) * w, Y: y})
		}
	}
	ymax := max(peak, 1) * 1.25
	p.Y.Min, p.Y.Max = 0, ymax
	if err := addBands(p, d.bands, 0, ymax, false); err != nil {
		return nil, err
	}
	for k, in := range d.inputs {
		l, err := plotter.NewLine(series[k])
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(k)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(in, l)
	}
	return p, nil
}

// latencyChart: p50 and p99 of the operations completed in each bucket,
// on a log scale (a timeout next to milliseconds), buckets without a
// completion left out.
func latencyChart(d chartData) (*plot.Plot, error) {
	w := d.width.Seconds()
	p := newPlot("Latency of completed operations (completion − invocation), p50 and p99", "milliseconds (log)", d)
	var p50, p99 plotter.XYs
	lo, hi := 1e9, 0.0
	for i, b := range d.buckets {
		if len(b.latencies) == 0 {
			continue
		}
		x := (float64(i) + 0.5) * w
		a, z := ms(b.P50), ms(b.P99)
		p50 = append(p50, plotter.XY{X: x, Y: a})
		p99 = append(p99, plotter.XY{X: x, Y: z})
		lo, hi = min(lo, a), max(hi, z)
	}
	if len(p50) == 0 {
		return nil, nil
	}
	ymin, ymax := lo/2, hi*4 // log head room for the legend
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = ymin, ymax
	if err := addBands(p, d.bands, ymin, ymax, false); err != nil {
		return nil, err
	}
	for i, s := range []struct {
		name string
		xys  plotter.XYs
		col  color.Color
	}{{"p50", p50, color.RGBA{R: 0x1e, G: 0x88, B: 0xe5, A: 0xff}}, {"p99", p99, color.RGBA{R: 0xd8, G: 0x1b, B: 0x60, A: 0xff}}} {
		l, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = s.col, vg.Points(1.5)
		pts.Color, pts.Radius, pts.Shape = s.col, vg.Points(1.5), draw.CircleGlyph{}
		if i == 1 {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	return p, nil
}

// invariantChart: each check of each invariant where it was made, one
// row per invariant, by outcome: held, broken, not read. Nil without
// checks.
func invariantChart(d chartData) (*plot.Plot, error) {
	if len(d.invariants) == 0 {
		return nil, nil
	}
	p := newPlot("Invariants: each check, held or broken", "", d)
	names := make([]string, len(d.invariants))
	for i, r := range d.invariants {
		names[i] = r.Name
	}
	p.NominalY(names...)
	ymin, ymax := -0.6, float64(len(names))+0.6 // room above the last row for the legend
	p.Y.Min, p.Y.Max = ymin, ymax
	p.Y.Tick.Label.Font.Size = vg.Points(9)
	if err := addBands(p, d.bands, ymin, ymax, false); err != nil {
		return nil, err
	}
	kinds := []struct {
		name  string
		xs    func(InvariantRow) []float64
		shape draw.GlyphDrawer
		color color.Color
		r     vg.Length
	}{
		{"held", func(r InvariantRow) []float64 { return r.held }, draw.CircleGlyph{}, colAccepted, 2.5},
		{"not read", func(r InvariantRow) []float64 { return r.unknown }, draw.RingGlyph{}, colUnknown, 3},
		{"broken", func(r InvariantRow) []float64 { return r.broken }, draw.CrossGlyph{}, colFailed, 4.5},
	}
	for _, k := range kinds {
		var xys plotter.XYs
		for y, r := range d.invariants {
			for _, x := range k.xs(r) {
				xys = append(xys, plotter.XY{X: x, Y: float64(y)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: k.color, Radius: vg.Points(float64(k.r)), Shape: k.shape}
		p.Add(sc)
		p.Legend.Add(k.name, sc)
	}
	return p, nil
}

// ms is d in milliseconds, at least 0.01 (a log scale has no zero).
func ms(d time.Duration) float64 { return max(float64(d)/float64(time.Millisecond), 0.01) }

// runChart draws a run's charts one above the other, their time axes
// aligned, as one SVG element to inline in HTML: no XML prologue, sized by
// the page's style sheet.
func runChart(d chartData) (template.HTML, error) {
	var rows [][]*plot.Plot
	charts := []func(chartData) (*plot.Plot, error){timelineChart, throughputChart, latencyChart,
		stateChart(history.SampleDepth, "Queue depths: ready plus unacked messages", "messages"),
		stateChart(history.SampleReady, "Readiness of each replica (1 ready, 0 not)", "ready"),
		invariantChart}
	for _, chart := range charts {
		p, err := chart(d)
		if err != nil {
			return "", err
		}
		if p != nil {
			rows = append(rows, []*plot.Plot{p})
		}
	}
	for _, row := range rows {
		// Before Align, which sizes each chart's margins from its axes:
		// with the same range everywhere, the data areas line up exactly.
		row[0].X.Min, row[0].X.Max = 0, float64(len(d.buckets))*d.width.Seconds()
	}
	c := vgsvg.New(chartW, chartH*vg.Length(len(rows)))
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadY: vg.Points(14), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align(rows, tiles, draw.New(c))
	for i, row := range rows {
		// One time axis for all: gonum widens an axis to its data (the
		// last step of the timeline), so set it once everything is added.
		row[0].X.Min, row[0].X.Max = 0, float64(len(d.buckets))*d.width.Seconds()
		row[0].Draw(canvases[i][0])
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("render charts: %w", err)
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return template.HTML(s), nil //nolint:gosec // made by gonum/plot, which escapes its text
}
