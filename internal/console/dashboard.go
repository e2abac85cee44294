package console

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// Hour is one hour of sending statistics.
type Hour struct {
	Start                                  time.Time
	Sends, Deliveries, Bounces, Complaints int
}

// hourly sums the last n hours (the current one included) of the
// account's 15-minute buckets: sends and deliveries from the queue's
// counters, bounces and complaints from the events.
func (s *Server) hourly(q *request, n int) ([]Hour, error) {
	end := s.now().UTC().Truncate(time.Hour).Add(time.Hour)
	start := end.Add(-time.Duration(n) * time.Hour)
	hours := make([]Hour, n)
	for i := range hours {
		hours[i].Start = start.Add(time.Duration(i) * time.Hour)
	}
	at := func(t time.Time) *Hour {
		i := int(t.Sub(start) / time.Hour)
		if t.Before(start) || i >= n {
			return nil
		}
		return &hours[i]
	}
	sent, err := s.cfg.Queue.Stats(q.ctx, q.acct.ID, q.region, start)
	if err != nil {
		return nil, err
	}
	for _, b := range sent {
		if h := at(b.Start); h != nil {
			h.Sends += b.Sent
			h.Deliveries += b.Delivered
		}
	}
	evs, err := s.cfg.Events.EventCounts(q.ctx, q.acct.ID, q.region, start)
	if err != nil {
		return nil, err
	}
	for _, b := range evs {
		if h := at(b.Start); h != nil {
			h.Bounces += b.Counts["Bounce"]
			h.Complaints += b.Counts["Complaint"]
		}
	}
	return hours, nil
}

// Chart is a grouped bar chart of hours, drawn as SVG by the template.
type Chart struct {
	Hours  []Hour
	Max    int
	Bars   []Bar
	Labels []AxisLabel
	Totals Hour
	Width  int
	Height int
}

// Bar is one bar of the chart.
type Bar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

// AxisLabel is an hour label under the chart.
type AxisLabel struct {
	X    int
	Text string
}

// chartHeight is the plot's height in SVG units (labels below it).
const chartHeight = 160

func newChart(hours []Hour) Chart {
	c := Chart{Hours: hours, Width: len(hours) * 30, Height: chartHeight + 24}
	for _, h := range hours {
		c.Max = max(c.Max, h.Sends, h.Deliveries, h.Bounces, h.Complaints)
		c.Totals.Sends += h.Sends
		c.Totals.Deliveries += h.Deliveries
		c.Totals.Bounces += h.Bounces
		c.Totals.Complaints += h.Complaints
	}
	scale := max(c.Max, 1)
	for i, h := range hours {
		x := i*30 + 3
		for j, v := range []struct {
			n          int
			class, say string
		}{{h.Sends, "s-send", "sends"}, {h.Deliveries, "s-deliv", "deliveries"}, {h.Bounces, "s-bounce", "bounces"}, {h.Complaints, "s-compl", "complaints"}} {
			bh := v.n * chartHeight / scale
			if v.n > 0 && bh < 2 {
				bh = 2 // a small count stays visible
			}
			c.Bars = append(c.Bars, Bar{X: x + j*6, Y: chartHeight - bh, W: 5, H: bh, Class: v.class,
				Title: fmt.Sprintf("%s UTC: %d %s", h.Start.Format("15:04"), v.n, v.say)})
		}
		if i%3 == 0 {
			c.Labels = append(c.Labels, AxisLabel{X: i*30 + 15, Text: h.Start.Format("15h")})
		}
	}
	return c
}

type dashboardView struct {
	Account    store.Account
	Sent24h    int
	Identities int
	Verified   int
	Pending    int // recipients waiting in the queue
	Chart      Chart
}

// dashboard is the home page: the account, its quotas, the last day.
func (s *Server) dashboard(q *request) error {
	d := dashboardView{Account: q.acct}
	var err error
	if d.Sent24h, err = s.cfg.Queue.SentSince(q.ctx, q.acct.ID, q.region, s.now().Add(-24*time.Hour)); err != nil {
		return err
	}
	// As the identities page counts: an address under a verified domain
	// is verified.
	rows, err := s.identityRows(q)
	if err != nil {
		return err
	}
	d.Identities = len(rows)
	for _, r := range rows {
		if r.Status == string(store.StatusSuccess) {
			d.Verified++
		}
	}
	sum, err := s.cfg.Queue.Summary(q.ctx, q.acct.ID, q.region)
	if err != nil {
		return err
	}
	for _, x := range sum {
		d.Pending += x.Queued + x.Deferred
	}
	hours, err := s.hourly(q, 24)
	if err != nil {
		return err
	}
	d.Chart = newChart(hours)
	return q.page("dashboard", &view{Title: "Dashboard", Nav: "home", Data: d})
}

// statisticsJSON is the chart's data: ?hours= (1-336, default 24).
func (s *Server) statisticsJSON(q *request) error {
	n := 24
	if v := q.r.URL.Query().Get("hours"); v != "" {
		h, err := strconv.Atoi(v)
		if err != nil || h < 1 || h > 14*24 {
			return failf(http.StatusBadRequest, "hours must be between 1 and 336.")
		}
		n = h
	}
	hours, err := s.hourly(q, n)
	if err != nil {
		return err
	}
	q.json(http.StatusOK, struct {
		Region string
		Hours  []Hour
	}{q.region, hours})
	return nil
}
