package verify

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/espfctl/espfctl/internal/espf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Stats counts what the receiver answered. Deliveries counts every request
// to the delivery path; FirstDelivered counts distinct events answered 200;
// Duplicates counts the 200 answers to events already delivered.
type Stats struct {
	Deliveries     int64       `json:"deliveries"`
	FirstDelivered int64       `json:"first_delivered"`
	Duplicates     int64       `json:"duplicates"`
	AuthFailures   int64       `json:"auth_failures"`
	Faults         int64       `json:"faults"`
	ByStatus       map[int]int `json:"by_status"`
}

// counters is the receiver's live tally plus its Prometheus registry (its
// own, never the global one, so several receivers live in one process).
type counters struct {
	deliveries, first, dups, authFail, faults atomic.Int64
	mu                                        sync.Mutex
	byStatus                                  map[int]int

	reg      *prometheus.Registry
	byType   *prometheus.CounterVec
	dupC     prometheus.Counter
	authC    prometheus.Counter
	handling prometheus.Histogram
	forwardC *prometheus.CounterVec
	fwdTime  prometheus.Histogram
}

func newCounters() *counters {
	c := &counters{byStatus: map[int]int{}, reg: prometheus.NewRegistry()}
	c.byType = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "espf_deliveries_total",
		Help: "Deliveries received, by event type (\"other\" when not in the catalog, \"-\" when unreadable) and answer code.",
	}, []string{"event_type", "code"})
	c.dupC = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "espf_duplicates_total", Help: "Deliveries answered 200 for an i_event that was already delivered.",
	})
	c.authC = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "espf_auth_failures_total", Help: "Deliveries answered 401 because authorization failed.",
	})
	c.handling = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "espf_handling_seconds", Help: "Time from reading the request to writing the answer, faults included.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	})
	c.forwardC = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "espf_forward_total",
		Help: "Deliveries forwarded to the Application (--forward-to), by its answer code (\"timeout\" or \"unreachable\" when it gave none).",
	}, []string{"code"})
	c.fwdTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "espf_forward_seconds", Help: "Time the Application took to answer a forwarded delivery, body included.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	})
	// Go runtime (goroutines, heap, GC) and process (RSS, open fds, CPU)
	// metrics, so that a leak shows on a dashboard.
	c.reg.MustRegister(c.byType, c.dupC, c.authC, c.handling, c.forwardC, c.fwdTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return c
}

// gauge registers a metric read from f at scrape time.
func (c *counters) gauge(name, help string, f func() float64) {
	c.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// counter registers a counter read from f at scrape time.
func (c *counters) counter(name, help string, f func() float64) {
	c.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

func (c *counters) add(d *Delivery, label string, took time.Duration) {
	c.deliveries.Add(1)
	if d.Duplicate {
		c.dups.Add(1)
		c.dupC.Inc()
	} else if d.Status == http.StatusOK {
		c.first.Add(1)
	}
	if d.Auth == AuthFailed {
		c.authFail.Add(1)
		c.authC.Inc()
	}
	if d.Fault != "" && d.Fault != "delay" {
		c.faults.Add(1)
	}
	c.mu.Lock()
	c.byStatus[d.Status]++
	c.mu.Unlock()
	c.byType.WithLabelValues(label, strconv.Itoa(d.Status)).Inc()
	c.handling.Observe(took.Seconds())
}

// forwarded counts one exchange with the Application.
func (c *counters) forwarded(x *exchange) {
	code := strconv.Itoa(x.status)
	switch {
	case x.err == nil:
		c.fwdTime.Observe(x.took.Seconds())
	case x.class == espf.ErrTimeout:
		code = "timeout"
	case x.class == classNotFinal: // the 1xx it answered
	default:
		code = "unreachable"
	}
	c.forwardC.WithLabelValues(code).Inc()
}

func (c *counters) stats() Stats {
	s := Stats{Deliveries: c.deliveries.Load(), FirstDelivered: c.first.Load(), Duplicates: c.dups.Load(),
		AuthFailures: c.authFail.Load(), Faults: c.faults.Load(), ByStatus: map[int]int{}}
	c.mu.Lock()
	for k, v := range c.byStatus {
		s.ByStatus[k] = v
	}
	c.mu.Unlock()
	return s
}

func (c *counters) handler() http.Handler {
	return promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{})
}
