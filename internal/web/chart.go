package web

import "strconv"

// chart is a bar chart laid out on the server and drawn by the template as SVG:
// no script, no inline style, and readable as a table by a screen reader.
type chart struct {
	Title          string
	Width, Height  int
	Bars           []bar
	Max            int
	AxisY, AxisTop int
	Legend         []series // pairChart only
	Ticks          []tick   // pairChart only: one label per pair
}

type bar struct {
	X, Y, W, H int
	Label      string
	Value      int
	LabelX     int
	Tick       bool   // label shown under the axis
	Class      string // "" is "bar"
}

const (
	chartW      = 640
	chartH      = 200
	chartMargin = 28
)

func barChart(title string, labels []string, values []int) chart {
	c := chart{Title: title, Width: chartW, Height: chartH, AxisY: chartH - chartMargin, AxisTop: 12}
	for _, v := range values {
		c.Max = max(c.Max, v)
	}
	n := len(values)
	if n == 0 {
		return c
	}
	slot := (chartW - 2*chartMargin) / n
	plot := c.AxisY - c.AxisTop
	for i, v := range values {
		h := 0
		if c.Max > 0 {
			h = v * plot / c.Max
		}
		if v > 0 && h < 2 {
			h = 2
		}
		x := chartMargin + i*slot
		c.Bars = append(c.Bars, bar{X: x + slot/8, Y: c.AxisY - h, W: slot * 3 / 4, H: h, Label: labels[i], Value: v,
			LabelX: x + slot/2, Tick: (n-1-i)%2 == 0 || n <= 7}) // the last day always labelled
	}
	return c
}

func (b bar) String() string { return b.Label + ": " + strconv.Itoa(b.Value) }

// series is one named set of values of a pairChart, drawn with its own class.
type series struct {
	Name, Class string
}

// pairChart draws two values per label side by side (bars of class "bar" and
// "bar alt"); the legend names the two series.
func pairChart(title string, labels []string, nameA string, a []int, nameB string, b []int) chart {
	c := chart{Title: title, Width: chartW, Height: chartH, AxisY: chartH - chartMargin, AxisTop: 12,
		Legend: []series{{nameA, "bar"}, {nameB, "bar alt"}}}
	for i := range labels {
		c.Max = max(c.Max, a[i], b[i])
	}
	n := len(labels)
	if n == 0 {
		return c
	}
	slot := (chartW - 2*chartMargin) / n
	plot := c.AxisY - c.AxisTop
	height := func(v int) int {
		h := 0
		if c.Max > 0 {
			h = v * plot / c.Max
		}
		if v > 0 && h < 2 {
			h = 2
		}
		return h
	}
	w := min(slot*3/8, 60)
	for i := range labels {
		x := chartMargin + i*slot + slot/2
		ha, hb := height(a[i]), height(b[i])
		c.Bars = append(c.Bars,
			bar{X: x - w, Y: c.AxisY - ha, W: w, H: ha, Label: labels[i] + " " + nameA, Value: a[i], Class: "bar"},
			bar{X: x, Y: c.AxisY - hb, W: w, H: hb, Label: labels[i] + " " + nameB, Value: b[i], Class: "bar alt"})
		c.Ticks = append(c.Ticks, tick{X: x, Label: labels[i]})
	}
	return c
}

// tick is a label under the axis of a pairChart.
type tick struct {
	X     int
	Label string
}
