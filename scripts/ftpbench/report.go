package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// reportOptions are the -report flags.
type reportOptions struct {
	base    string   // server whose ratio to the best other is shown
	ceiling float64  // loopback ceiling, MB/s; 0 for none
	chart   string   // gnuplot data file to write; "" for none
	order   []string // column order; unlisted servers follow in input order
}

// rowInfo describes a row independently of any server.
type rowInfo struct {
	id, name, short, unit, better string
}

// cell is every round's measurement of one row on one server.
type cell struct {
	values  []float64
	errors  int    // failed operations over all rounds
	skipped int    // operations the time budget left out, over all rounds
	rounds  int    // rounds that measured the row
	failed  int    // rounds with errors or skipped operations
	partial int    // rounds that fell short of the row's conditions
	note    string // first error note
}

// table is the merged results: rows in first-seen order, servers in
// column order.
type table struct {
	rows    []rowInfo
	servers []string
	cells   map[string]map[string]*cell // server -> row id -> cell
}

func runReport(files []string, opt reportOptions, w io.Writer) error {
	if len(files) == 0 {
		return fmt.Errorf("-report: no result files given")
	}
	var outs []output
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("-report: %w", err)
		}
		var o output
		if err := json.Unmarshal(b, &o); err != nil {
			return fmt.Errorf("-report: parse %s: %w", f, err)
		}
		outs = append(outs, o)
	}
	t := mergeOutputs(outs, opt.order)
	if opt.ceiling > 0 {
		t.addCeilingRow(opt.ceiling)
	}
	t.writeMarkdown(w, opt.base)
	if opt.chart != "" {
		f, err := os.Create(opt.chart)
		if err != nil {
			return fmt.Errorf("-report: chart data: %w", err)
		}
		t.writeChartData(f)
		if err := f.Close(); err != nil {
			return fmt.Errorf("-report: chart data: %w", err)
		}
	}
	return nil
}

func mergeOutputs(outs []output, order []string) *table {
	t := &table{cells: make(map[string]map[string]*cell)}
	seenRow := make(map[string]bool)
	var servers []string
	for _, o := range outs {
		if t.cells[o.Server] == nil {
			t.cells[o.Server] = make(map[string]*cell)
			servers = append(servers, o.Server)
		}
		for _, r := range o.Rows {
			if !seenRow[r.ID] {
				seenRow[r.ID] = true
				t.rows = append(t.rows, rowInfo{r.ID, r.Name, r.Short, r.Unit, r.Better})
			}
			c := t.cells[o.Server][r.ID]
			if c == nil {
				c = &cell{}
				t.cells[o.Server][r.ID] = c
			}
			c.rounds++
			if r.Value != nil {
				c.values = append(c.values, *r.Value)
			}
			if r.Skipped > 0 || r.Incomplete {
				c.partial++
			}
			if r.Errors > 0 || r.Skipped > 0 || r.Incomplete || r.Value == nil {
				c.errors += r.Errors
				c.skipped += r.Skipped
				c.failed++
				if c.note == "" {
					c.note = r.Note
				}
			}
		}
	}
	for _, s := range order {
		if t.cells[s] != nil {
			t.servers = append(t.servers, s)
		}
	}
	for _, s := range servers {
		if !slices.Contains(t.servers, s) {
			t.servers = append(t.servers, s)
		}
	}
	return t
}

// addCeilingRow shows each server's RETR as a share of what one loopback
// TCP stream can carry on the same machine.
func (t *table) addCeilingRow(ceiling float64) {
	row := rowInfo{id: "retr-ceiling", name: fmt.Sprintf("RETR as %% of loopback ceiling (%.0f MB/s)", ceiling),
		short: "RETR % of ceiling", unit: "%", better: "higher"}
	any := false
	for _, s := range t.servers {
		if v, ok := t.median(s, "retr"); ok {
			t.cells[s][row.id] = &cell{values: []float64{v / ceiling * 100}, rounds: 1}
			any = true
		}
	}
	if any {
		i := slices.IndexFunc(t.rows, func(r rowInfo) bool { return r.id == "retr" })
		t.rows = slices.Insert(t.rows, i+1, row)
	}
}

func (t *table) median(server, row string) (float64, bool) {
	c := t.cells[server][row]
	if c == nil || len(c.values) == 0 {
		return 0, false
	}
	return median(c.values), true
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// better reports whether a beats b on the row.
func better(r rowInfo, a, b float64) bool {
	if r.better == "lower" {
		return a < b
	}
	return a > b
}

// ratio is how many times better a is than b: above 1 means a wins,
// whichever way the row counts.
func ratio(r rowInfo, a, b float64) float64 {
	if r.better == "lower" {
		return b / a
	}
	return a / b
}

// bestOf returns the best median among servers other than except,
// leaving out any that fell short of the row's conditions: a peer holding
// 6,000 sessions is no yardstick for a row about 10,000.
func (t *table) bestOf(r rowInfo, except string) (float64, string, bool) {
	var best float64
	var who string
	for _, s := range t.servers {
		if s == except || t.cells[s][r.id] != nil && t.cells[s][r.id].partial > 0 {
			continue
		}
		v, ok := t.median(s, r.id)
		if !ok {
			continue
		}
		if who == "" || better(r, v, best) {
			best, who = v, s
		}
	}
	return best, who, who != ""
}

func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func (t *table) writeMarkdown(w io.Writer, base string) {
	hasBase := t.cells[base] != nil
	head := []string{"Row", "Unit"}
	head = append(head, t.servers...)
	if hasBase {
		head = append(head, base+" vs best peer")
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(head)))
	var notes []string
	for _, r := range t.rows {
		line := []string{r.name, r.unit}
		for _, s := range t.servers {
			c := t.cells[s][r.id]
			switch {
			case c == nil:
				line = append(line, "")
			case len(c.values) == 0:
				line = append(line, "failed")
			default:
				v := formatValue(median(c.values))
				if c.failed > 0 {
					v += " †"
				}
				line = append(line, v)
			}
			if c != nil && c.failed > 0 {
				var what []string
				if c.errors > 0 {
					what = append(what, fmt.Sprintf("%d failed", c.errors))
				}
				if c.skipped > 0 {
					what = append(what, fmt.Sprintf("%d not attempted (time budget)", c.skipped))
				}
				what = append(what, fmt.Sprintf("in %d of %d rounds", c.failed, c.rounds))
				notes = append(notes, fmt.Sprintf("%s, %s: %s: %s", s, r.name, strings.Join(what, ", "), c.note))
			}
		}
		if hasBase {
			cmp := "–"
			if v, ok := t.median(base, r.id); ok {
				if best, who, ok := t.bestOf(r, base); ok && best != 0 && v != 0 {
					cmp = fmt.Sprintf("%.2f× (vs %s)", ratio(r, v, best), who)
				}
			}
			line = append(line, cmp)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(line, " | "))
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "† some rounds had failures or ran out of time (the median is over the rounds that measured a value):")
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(n, "|", "\\|"))
		}
	}
}

// writeChartData writes one line per row with each server's score
// relative to the best server on that row (1 = best, higher is better
// whichever way the row counts), so rows of different units share one
// axis. "?" marks a missing value for gnuplot. A server that fell short
// of a row's conditions (fewer sessions open than the row says) gets no
// bar there: a bar carries no footnote.
func (t *table) writeChartData(w io.Writer) {
	fmt.Fprint(w, `"row"`)
	for _, s := range t.servers {
		fmt.Fprintf(w, " %q", s)
	}
	fmt.Fprintln(w)
	for _, r := range t.rows {
		if r.id == "retr-ceiling" {
			continue
		}
		value := func(s string) (float64, bool) {
			v, ok := t.median(s, r.id)
			return v, ok && v > 0 && t.cells[s][r.id].partial == 0
		}
		var best float64
		found := false
		for _, s := range t.servers {
			if v, ok := value(s); ok && (!found || better(r, v, best)) {
				best, found = v, true
			}
		}
		if !found {
			continue
		}
		label := r.short
		if label == "" {
			label = r.name
		}
		fmt.Fprintf(w, "%q", label+" ("+r.unit+")")
		for _, s := range t.servers {
			if v, ok := value(s); ok {
				fmt.Fprintf(w, " %.4f", ratio(r, v, best))
			} else {
				fmt.Fprint(w, " ?")
			}
		}
		fmt.Fprintln(w)
	}
}
